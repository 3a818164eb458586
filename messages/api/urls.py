"""Routes nested under an inbox; included by sendook/urls.py under /v1."""

from django.urls import re_path

from messages.api.context import ThreadContextViewSet
from messages.api.drafts import DraftViewSet
from messages.api.lists import ListEntryViewSet
from messages.api.threads import ThreadBulkViewSet, ThreadViewSet
from messages.api.viewsets import MessageViewSet
from sendook.api import OptionalSlashRouter

INBOX = r"inboxes/(?P<inbox_id>[A-Za-z0-9._@-]{1,255})"


router = OptionalSlashRouter()
router.register(f"{INBOX}/messages", MessageViewSet, basename="message")
router.register(f"{INBOX}/threads", ThreadViewSet, basename="thread")
router.register(f"{INBOX}/drafts", DraftViewSet, basename="draft")
router.register("lists", ListEntryViewSet, basename="list-entry")
urlpatterns = [
    *router.urls,
    # One action, no list or detail: threads are read under their inbox.
    re_path(r"^threads/bulk/?$", ThreadBulkViewSet.as_view({"post": "bulk"}), name="thread-bulk"),
    re_path(
        rf"^{INBOX}/threads/(?P<id>[A-Za-z0-9._@-]{{1,255}})/context/?$",
        ThreadContextViewSet.as_view({"get": "context"}),
        name="thread-context",
    ),
]
