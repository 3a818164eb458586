"""Domain errors. Services raise these; sendook.api.errors.exception_handler renders them as JSON."""


class SendookError(Exception):
    """An error a client can act on: a stable `code`, an HTTP status and a readable message."""

    status_code = 400
    code = "bad_request"
    message = "Bad request"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status_code = status_code or self.status_code
        self.fields = fields
        self.headers = headers or {}
        # Machine-readable details beside error/code (e.g. the scope a 403 names).
        self.extra = extra or {}
        super().__init__(self.message)


class NotFound(SendookError):
    status_code = 404
    code = "not_found"
    message = "Not found"


class ValidationFailed(SendookError):
    status_code = 400
    code = "validation_error"
    message = "Invalid request"

    @classmethod
    def for_field(cls, field: str, message: str, *, code: str | None = None) -> "ValidationFailed":
        return cls(message, code=code, fields={field: [message]})


class Conflict(SendookError):
    status_code = 409
    code = "conflict"
    message = "Conflict"


class Unprocessable(SendookError):
    status_code = 422
    code = "unprocessable"
    message = "The request cannot be carried out"


class RateLimited(SendookError):
    status_code = 429
    code = "rate_limited"
    message = "Rate limit exceeded"


class ServiceUnavailable(SendookError):
    status_code = 503
    code = "service_unavailable"
    message = "A backing service is unavailable; retry later"


class ServedByAsgi(ServiceUnavailable):
    """A path only the ASGI process serves (the event stream, the staff UI's live stream,
    /mcp: each holds its request open), reached on a WSGI worker, which must not be held."""

    code = "served_by_asgi"

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} is served by the ASGI process (uvicorn sendook.asgi:application), not by "
            "this WSGI worker; route it there (deploy/nginx.conf does)",
            headers={"Retry-After": "60"},
        )
