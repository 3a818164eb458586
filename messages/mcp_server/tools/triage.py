"""Organizing conversations (scope threads:write, as on /v1): add_labels and remove_labels (on
a message, PATCH …/messages/{id}, or a thread, PATCH …/threads/{id}), update_thread (status,
snooze, assignee: messages.services.triage) and add_note (messages.services.notes)."""

from typing import Annotated, Literal

from mcp.server.fastmcp import FastMCP
from mcp.types import CallToolResult
from pydantic import Field

from messages import selectors
from messages.api.serializers import LabelsInput, MessageSerializer, ThreadSerializer
from messages.api.threads import NoteInput, NoteSerializer, ThreadUpdateInput, change_kwargs
from messages.mcp_server.calls import body_of, key, org, run_tool, validated, visible_inbox
from messages.mcp_server.tools import WRITE
from messages.mcp_server.tools.args import InboxId, Labels, MessageId, ThreadId
from messages.services import notes, threads, triage
from messages.services.provenance import api_key_actor
from sendook.api import ApiClient
from sendook.exceptions import ValidationFailed

Who = Annotated[
    str,
    Field(
        description="me (this API key), none (nobody), a member id (user_…) or an API key id "
        "(key_…)."
    ),
]


def assignee_ref(client: ApiClient, who: str) -> dict | None:
    """The tool's one-word assignee as the API's `{"type", "id"}` (None for none)."""
    if who == "me":
        return {"type": "api_key", "id": key(client).public_id}
    if who == "none":
        return None
    if who.startswith("user_"):
        return {"type": "user", "id": who}
    if who.startswith("key_"):
        return {"type": "api_key", "id": who}
    raise ValidationFailed.for_field(
        "assignee", f"Must be me, none, a member id (user_…) or a key id (key_…), not {who!r}."
    )


def relabel(
    client: ApiClient,
    inbox_id: str,
    *,
    message_id: str | None,
    thread_id: str | None,
    labels: list[str],
    adding: bool,
) -> dict:
    if (message_id is None) == (thread_id is None):
        raise ValidationFailed.for_field("messageId", "Give messageId or threadId (one of them).")
    inbox = visible_inbox(client, inbox_id)
    data = validated(LabelsInput, {"addLabels" if adding else "removeLabels": labels})
    add, remove = data.get("add_labels", []), data.get("remove_labels", [])
    if message_id is not None:
        message = selectors.get_message(inbox, message_id)
        return MessageSerializer(threads.update_labels(message, add=add, remove=remove)).data
    thread = selectors.get_thread(org(client), thread_id or "", inbox=inbox)
    thread = triage.update_thread(
        thread, actor=api_key_actor(client.api_key), add_labels=add, remove_labels=remove
    )
    return ThreadSerializer(thread).data


def change_thread(client: ApiClient, inbox_id: str, thread_id: str, body: dict) -> dict:
    inbox = visible_inbox(client, inbox_id)
    thread = selectors.get_thread(org(client), thread_id, inbox=inbox)
    data = validated(ThreadUpdateInput, body)
    thread = triage.update_thread(
        thread,
        actor=api_key_actor(client.api_key),
        **change_kwargs(org(client), data),
    )
    return ThreadSerializer(thread).data


def note(client: ApiClient, inbox_id: str, thread_id: str, text: str) -> dict:
    inbox = visible_inbox(client, inbox_id)
    thread = selectors.get_thread(org(client), thread_id, inbox=inbox)
    data = validated(NoteInput, {"text": text})
    return NoteSerializer(
        notes.add_note(thread, actor=api_key_actor(client.api_key), text=data["text"])
    ).data


LabelTarget = Annotated[
    MessageId | None, Field(description="Label this message (give it or threadId).")
]
ThreadTarget = Annotated[
    ThreadId | None, Field(description="Label this thread (give it or messageId).")
]


def register(mcp: FastMCP) -> None:
    @mcp.tool(annotations=WRITE)
    async def add_labels(
        inboxId: InboxId,
        labels: Labels,
        messageId: LabelTarget = None,
        threadId: ThreadTarget = None,
    ) -> CallToolResult:
        """Add labels to one message or to a whole thread. Returns the Message or the Thread
        with its labels now."""
        return await run_tool(
            "threads:write",
            lambda c: relabel(
                c, inboxId, message_id=messageId, thread_id=threadId, labels=labels, adding=True
            ),
        )

    @mcp.tool(annotations=WRITE)
    async def remove_labels(
        inboxId: InboxId,
        labels: Labels,
        messageId: LabelTarget = None,
        threadId: ThreadTarget = None,
    ) -> CallToolResult:
        """Remove labels from one message or from a whole thread. Returns the Message or the
        Thread with its labels now."""
        return await run_tool(
            "threads:write",
            lambda c: relabel(
                c, inboxId, message_id=messageId, thread_id=threadId, labels=labels, adding=False
            ),
        )

    @mcp.tool(annotations=WRITE)
    async def update_thread(
        inboxId: InboxId,
        threadId: ThreadId,
        status: Annotated[
            Literal["open", "pending", "snoozed", "closed"] | None,
            Field(description="Where the conversation stands."),
        ] = None,
        snoozedUntil: Annotated[
            str | None,
            Field(description="ISO 8601 date-time in the future: snooze the thread until then."),
        ] = None,
        assignee: Annotated[Who | None, Field(description="Who works this thread.")] = None,
        expectedAssignee: Annotated[
            Who | None,
            Field(
                description="Who you saw assigned: if it is someone else now, nothing changes "
                "and the error (assignee_changed) names them."
            ),
        ] = None,
    ) -> CallToolResult:
        """Change a thread's status, snooze time or assignee (one or several at once).
        Returns the Thread as it is now."""

        def work(client: ApiClient) -> dict:
            body = body_of(status=status, snoozedUntil=snoozedUntil)
            for name, who in (("assignee", assignee), ("expectedAssignee", expectedAssignee)):
                if who is not None:
                    body[name] = assignee_ref(client, who)
            return change_thread(client, inboxId, threadId, body)

        return await run_tool("threads:write", work)

    @mcp.tool(annotations=WRITE)
    async def add_note(
        inboxId: InboxId,
        threadId: ThreadId,
        text: Annotated[str, Field(description="The note (internal: never sent to anyone).")],
    ) -> CallToolResult:
        """Write an internal note on a thread, for the people and agents working it; it is
        never emailed. Returns the Note: id, threadId, author, text, createdAt."""
        return await run_tool("threads:write", lambda c: note(c, inboxId, threadId, text))
