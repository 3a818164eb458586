"""Where a request goes: /v1 (JSON API), /health, /admin, /webhooks (providers), / (staff UI),
/mcp (the ASGI process's; a 503 saying so here)."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

import sendook.openapi  # noqa: F401  (registers the API-key auth scheme with drf-spectacular)
from inboxes.viewsets import (
    ApiKeyViewSet,
    DomainViewSet,
    InboxViewSet,
    MemberViewSet,
    OrganizationViewSet,
)
from messages.api.approvals import ApprovalViewSet
from messages.mcp_server.views import served_by_asgi as mcp_served_by_asgi
from sendook import views
from sendook.api import OptionalSlashRouter
from sendook.events.viewsets import EventViewSet
from sendook.login_throttle import throttle_login
from webhooks.viewsets import WebhookViewSet

router = OptionalSlashRouter()
router.register("api_keys", ApiKeyViewSet, basename="api-key")
router.register("domains", DomainViewSet, basename="domain")
router.register("inboxes", InboxViewSet, basename="inbox")
router.register("events", EventViewSet, basename="event")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("approvals", ApprovalViewSet, basename="approval")

api_urlpatterns = [
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi"), name="api-docs"),
    re_path(
        r"^organization/?$",
        OrganizationViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="organization",
    ),
    # A list only: a member's id is all a client needs (to assign a thread).
    re_path(r"^members/?$", MemberViewSet.as_view({"get": "list"}), name="member-list"),
    path("", include(router.urls)),
    path("", include("messages.api.urls")),
    # Anything else under /v1 is a JSON 404, never Django's HTML page.
    re_path(r"^.*$", views.api_not_found),
]

urlpatterns = [
    path("health", views.health, name="health"),
    path("favicon.ico", views.favicon),
    # Served by the ASGI process (sendook/asgi.py routes it before Django); here, a JSON 503.
    re_path(r"^mcp(?:/.*)?$", mcp_served_by_asgi, name="mcp"),
    path("v1/", include(api_urlpatterns)),
    # Before admin.site.urls, so the admin's password form is throttled like /login.
    path("admin/login/", throttle_login(admin.site.login)),
    path("admin/", admin.site.urls),
    # Only the providers enabled in SENDOOK_INBOUND_PROVIDERS / SENDOOK_TRACKING_PROVIDERS.
    path("webhooks/anymail/", include("messages.inbound.provider_urls")),
    path("webhooks/", include("messages.inbound.urls")),
    path("", include("messages.ui.urls")),
]

handler400 = "sendook.views.bad_request"
handler403 = "sendook.views.permission_denied"
handler404 = "sendook.views.page_not_found"
handler500 = "sendook.views.server_error"
