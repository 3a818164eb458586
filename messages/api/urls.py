"""Routes nested under an inbox; included by sendook/urls.py under /v1."""

from rest_framework.routers import SimpleRouter

from messages.api.viewsets import MessageViewSet, ThreadViewSet

INBOX = r"inboxes/(?P<inbox_id>[A-Za-z0-9._@-]{1,255})"


class _Router(SimpleRouter):
    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = _Router()
router.register(f"{INBOX}/messages", MessageViewSet, basename="message")
router.register(f"{INBOX}/threads", ThreadViewSet, basename="thread")
urlpatterns = router.urls
