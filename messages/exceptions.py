"""Mail domain errors."""

from sendook.exceptions import NotFound, ServiceUnavailable, Unprocessable


class MessageNotFound(NotFound):
    code = "message_not_found"
    message = "Message not found"


class ThreadNotFound(NotFound):
    code = "thread_not_found"
    message = "Thread not found"


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"
    message = "Attachment not found"


class RawMessageNotFound(NotFound):
    code = "raw_not_found"
    message = "The raw MIME of this message is not available yet"


class RecipientSuppressed(Unprocessable):
    code = "recipient_suppressed"
    message = "A recipient is on this organization's suppression list"


class PermanentSendError(Exception):
    """The provider refused the message for good (bad address, rejected content, 4xx)."""


class TransientSendError(Exception):
    """The provider could not take the message now (network, throttling, 5xx); retry later."""


class RawStorageFailed(ServiceUnavailable):
    """The raw bytes of an inbound message could not be stored: the sender must retry."""

    code = "raw_storage_failed"
    message = "The message could not be stored; retry later"
