"""Mail domain errors."""

from typing import Any

from sendook.exceptions import (
    Conflict,
    NotFound,
    SendookError,
    ServiceUnavailable,
    Unprocessable,
    ValidationFailed,
)


class MessageNotFound(NotFound):
    code = "message_not_found"
    message = "Message not found"


class ThreadNotFound(NotFound):
    code = "thread_not_found"
    message = "Thread not found"


class NoteNotFound(NotFound):
    code = "note_not_found"
    message = "Note not found"


class InvalidAssignee(ValidationFailed):
    """An assignee that is not one of the organization's members or live API keys (another
    organization's member, an unknown id, a revoked key), or a key that cannot see the
    thread's inbox."""

    code = "invalid_assignee"
    message = "Not a member or an API key of this organization"

    def __init__(self, message: str | None = None, *, field: str = "assignee") -> None:
        message = message or self.message
        super().__init__(message, fields={field: [message]})


class AssigneeChanged(Conflict):
    """`expectedAssignee` named someone else than the thread's assignee: somebody assigned it
    meanwhile. `assignee` (absent: unassigned) is who has it now; nothing was changed."""

    code = "assignee_changed"

    def __init__(self, thread_id: str, current: dict[str, str] | None) -> None:
        who = f"{current['name']} ({current['type']} {current['id']})" if current else "nobody"
        extra: dict[str, Any] = {"threadId": thread_id}
        if current:
            extra["assignee"] = current
        super().__init__(
            f"Thread {thread_id} is assigned to {who} now, not to the expected assignee; "
            "nothing was changed",
            extra=extra,
        )
        self.assignee = current


class ThreadChanged(Conflict):
    """A reply, reply-all or forward whose `expectedLastMessageId` is no longer the thread's
    newest message: `new_message_ids` arrived after it (oldest first). Nothing was sent."""

    code = "thread_changed"

    def __init__(self, new_message_ids: list[str]) -> None:
        count = len(new_message_ids)
        super().__init__(
            f"The thread has {count} newer message{'s' if count != 1 else ''} than the one "
            "expected; nothing was sent",
            extra={"newMessageIds": list(new_message_ids)},
        )
        self.new_message_ids = list(new_message_ids)


class ThreadAssigned(Conflict):
    """An API key sending on a thread a person is assigned to: the person has taken over.
    Nothing was sent."""

    code = "thread_assigned"

    def __init__(self, assignee: dict[str, str]) -> None:
        super().__init__(
            f"This thread is assigned to {assignee['name']}; an API key may not send on it "
            "until it is unassigned or assigned to the key",
            extra={"assignee": assignee},
        )
        self.assignee = assignee


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"
    message = "Attachment not found"


class RawMessageNotFound(NotFound):
    code = "raw_not_found"
    message = "The raw MIME of this message is not available yet"


class RecipientSuppressed(Unprocessable):
    code = "recipient_suppressed"
    message = "A recipient is on this organization's suppression list"


class MessageNotHeld(Conflict):
    """An approval-queue decision on a message in another state (already approved, sent,
    cancelled...): the conditional UPDATE found nothing in the expected status."""

    code = "message_not_held"


class DraftNotFound(NotFound):
    code = "draft_not_found"
    message = "Draft not found"


class DraftNotEditable(Conflict):
    """A change to, or the send of, a message that is no longer a draft (already sent,
    held, scheduled...): the row was found locked in another status."""

    code = "draft_not_editable"


class ApprovalNotAllowed(SendookError):
    status_code = 403
    code = "forbidden"
    message = "A key whose sends require approval cannot decide on held messages"


class PermanentSendError(Exception):
    """The provider refused the message for good (bad address, rejected content, 4xx)."""


class TransientSendError(Exception):
    """The provider could not take the message now (network, throttling, 5xx); retry later."""


class UnrecordedSend(Exception):
    """The provider accepted the message but recording that failed (the database went away):
    the task retries the recording with the provider's id, never the provider call."""

    def __init__(self, external_id: str, cause: BaseException) -> None:
        super().__init__(f"sent as {external_id or '(no id)'} but not recorded: {cause}")
        self.external_id = external_id
        self.cause = cause


class RawStorageFailed(ServiceUnavailable):
    """The raw bytes of an inbound message could not be stored: the sender must retry."""

    code = "raw_storage_failed"
    message = "The message could not be stored; retry later"


class RecipientBlocked(Unprocessable):
    """A send to an address the organization's or the inbox's send lists refuse (blocked, or
    not allowed while send-allow entries exist): nothing is stored or sent."""

    code = "recipient_blocked"
    message = "A recipient is blocked by this organization's send lists"

    def __init__(self, message: str, *, address: str, field: str = "to") -> None:
        super().__init__(message, fields={field: [message]}, extra={"address": address})


class ListEntryNotFound(NotFound):
    code = "list_entry_not_found"
    message = "List entry not found"


class ListEntryExists(Conflict):
    code = "list_entry_exists"
    message = "This entry is already on the list"


class MessageNotBlocked(Conflict):
    """A release of a message that is not (or no longer) blocked: released already, by this
    request's twin or by someone else."""

    code = "message_not_blocked"
