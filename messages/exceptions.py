"""Mail domain errors."""

from sendook.exceptions import SendookError, ServiceUnavailable


class RawStorageFailed(ServiceUnavailable):
    """The raw bytes of an inbound message could not be stored: the sender must retry."""

    code = "raw_storage_failed"
    message = "The message could not be stored; retry later"


class InboundTooLarge(SendookError):
    status_code = 413
    code = "message_too_large"
    message = "The message is larger than this server accepts"
