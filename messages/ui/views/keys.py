"""The organization's API keys as staff see them: who each agent is and what it may do (its
scopes, the inboxes it is limited to, whether a person approves every send). Read-only: keys are
made and revoked through the API (keys:write) or, by owners, in the admin. Owners only."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from inboxes import selectors as inbox_selectors
from inboxes.models import ApiKey
from messages.ui.views.base import render_page
from messages.ui.views.roles import owner_page
from sendook.api import SCOPES


def _powers(key: ApiKey, inbox_names: dict[str, str]) -> dict[str, object]:
    scopes = set(key.scopes)
    return {
        "key": key,
        "full": scopes >= set(SCOPES),
        "scopes": [scope for scope in SCOPES if scope in scopes],
        "inboxes": None
        if key.inbox_ids is None
        else [inbox_names.get(public_id, f"{public_id} (deleted)") for public_id in key.inbox_ids],
    }


@require_GET
@owner_page
def key_list(request: HttpRequest) -> HttpResponse:
    organization = request.organization  # type: ignore[attr-defined]
    inbox_names = {
        box.public_id: box.name or box.email for box in inbox_selectors.list_inboxes(organization)
    }
    keys = inbox_selectors.list_api_keys(organization).order_by("name", "id")
    context = {"items": [_powers(key, inbox_names) for key in keys], "view_keys": True}
    return render_page(request, "mail/keys.html", context)
