"""The one router every /v1 resource registers with."""

from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """`/v1/inboxes` and `/v1/inboxes/` both work: SDKs of the original Sendook differ."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
