"""Scopes are checked once, in the kernel, for every /v1 endpoint: each route resolves to a known
scope, a key without it gets a 403 naming it, and the check costs no query."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from inboxes.services import create_api_key
from inboxes.tests.factories import InboxFactory
from messages.models import Message
from messages.tests.mail_factories import MessageFactory, ThreadFactory
from sendook.api import SCOPES, OrgScopedViewSet, ScopePermission, required_scope

pytestmark = pytest.mark.django_db

# Served without a key: the schema and its interactive docs.
UNAUTHENTICATED = {"openapi.json", "docs"}


def _v1_views(patterns: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _v1_views(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            found.append((route, pattern.callback))
    return found


def _routes() -> list[tuple[str, Any]]:
    return [
        (route, callback)
        for route, callback in _v1_views(get_resolver().url_patterns)
        if route.startswith("v1/") and route.removeprefix("v1/") not in UNAUTHENTICATED
    ]


def test_every_v1_route_is_an_org_scoped_viewset_and_each_action_needs_a_known_scope():
    checked = 0
    for route, callback in _routes():
        cls = getattr(callback, "cls", None)
        if cls is None:
            assert callback.__name__ == "api_not_found", route  # the JSON 404 catch-all
            continue
        assert issubclass(cls, OrgScopedViewSet), route
        assert ScopePermission in cls.permission_classes, route
        for method, action in callback.actions.items():
            view = cls(**callback.initkwargs)
            view.action = action
            scope = required_scope(view, method)
            assert scope in SCOPES, f"{method.upper()} {route} ({cls.__name__}.{action}): {scope}"
            checked += 1
    assert checked > 30, "the /v1 routes were not found: has the URL layout changed?"


def test_an_undeclared_action_is_refused_to_every_key():
    class Unscoped(OrgScopedViewSet):
        read_scope = "inboxes:read"

    view = Unscoped()
    view.action = "frobnicate"
    assert required_scope(view, "POST") is None
    assert required_scope(view, "GET") == "inboxes:read"


def _client(org, **powers) -> APIClient:
    client = APIClient()
    secret = create_api_key(org, name="limited", **powers).secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_a_key_without_the_scope_gets_a_403_naming_it(org):
    inbox = InboxFactory(organization=org)
    reader = _client(org, scopes=["messages:read"])
    response = reader.post(
        f"/v1/inboxes/{inbox.public_id}/messages/send",
        {"to": ["a@example.com"], "subject": "s", "text": "t"},
        format="json",
    )
    assert response.status_code == 403
    assert response.json() == {
        "error": "This API key needs scope messages:send",
        "message": "This API key needs scope messages:send",
        "code": "forbidden",
        "requiredScope": "messages:send",
    }
    assert not Message.objects.filter(inbox=inbox).exists()
    assert reader.get(f"/v1/inboxes/{inbox.public_id}/messages").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("get", "/v1/inboxes", "inboxes:read"),
        ("post", "/v1/inboxes", "inboxes:write"),
        ("get", "/v1/api_keys", "keys:write"),
        ("get", "/v1/domains", "domains:write"),
        ("get", "/v1/webhooks", "webhooks:write"),
        ("get", "/v1/events", "events:read"),
        ("get", "/v1/inboxes/{inbox}/messages", "messages:read"),
        ("get", "/v1/inboxes/{inbox}/threads", "messages:read"),
        ("patch", "/v1/inboxes/{inbox}/messages/{message}", "threads:write"),
        ("post", "/v1/inboxes/{inbox}/messages/{message}/reply", "messages:send"),
        ("post", "/v1/inboxes/{inbox}/messages/{message}/forward", "messages:send"),
        ("get", "/v1/inboxes/{inbox}/drafts", "messages:read"),
        ("post", "/v1/inboxes/{inbox}/drafts", "drafts:write"),
        ("post", "/v1/inboxes/{inbox}/drafts/{message}/send", "messages:send"),
        ("get", "/v1/approvals", "messages:read"),
        ("post", "/v1/inboxes/{inbox}/messages/{message}/approve", "approvals:write"),
        ("post", "/v1/inboxes/{inbox}/messages/{message}/reject", "approvals:write"),
        ("post", "/v1/inboxes/{inbox}/messages/{message}/cancel", "messages:send"),
        ("post", "/v1/approvals/release", "approvals:write"),
        ("get", "/v1/organization", "inboxes:read"),
        ("patch", "/v1/organization", "approvals:write"),
        # Shared threads.
        ("get", "/v1/members", "inboxes:read"),
        ("patch", "/v1/inboxes/{inbox}/threads/{thread}", "threads:write"),
        ("post", "/v1/threads/bulk", "threads:write"),
        ("get", "/v1/inboxes/{inbox}/threads/{thread}/notes", "messages:read"),
        ("post", "/v1/inboxes/{inbox}/threads/{thread}/notes", "threads:write"),
        ("get", "/v1/inboxes/{inbox}/threads/{thread}/activity", "messages:read"),
    ],
)
def test_each_resource_asks_for_its_own_scope(org, method, path, scope):
    inbox = InboxFactory(organization=org)
    message = MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox))
    others = [name for name in SCOPES if name != scope]
    client = _client(org, scopes=others)
    url = path.format(
        inbox=inbox.public_id, message=message.public_id, thread=message.thread.public_id
    )
    response = getattr(client, method)(url, {}, format="json")
    assert response.status_code == 403, response.content
    assert response.json()["requiredScope"] == scope
    allowed = getattr(_client(org, scopes=[scope]), method)(url, {}, format="json")
    assert allowed.status_code != 403, allowed.content


def test_a_method_the_route_lacks_is_still_a_405_for_a_narrow_key(org):
    client = _client(org, scopes=["events:read"])
    assert client.delete("/v1/events").status_code == 405


def test_checking_scopes_adds_no_query_to_a_list(org, api_client, django_assert_num_queries):
    inbox = InboxFactory(organization=org)
    for _ in range(3):
        MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox))
    path = f"/v1/inboxes/{inbox.public_id}/messages"
    limited = _client(org, scopes=["messages:read"], inbox_ids=[inbox.public_id])
    for client in (api_client, limited):
        assert client.get(path).status_code == 200  # the first request records the key's use
        # The key (with its scopes and inboxes), the inbox, the page, its attachments: as
        # before scopes existed.
        with django_assert_num_queries(4):
            assert len(client.get(path).json()) == 3


def test_the_openapi_schema_documents_each_operations_scope_the_403_and_the_key_fields(client):
    schema = client.get("/v1/openapi.json").json()
    send = schema["paths"]["/v1/inboxes/{inbox_id}/messages/send"]["post"]
    assert send["x-required-scope"] == "messages:send"
    assert "Needs API-key scope `messages:send`." in send["description"]
    assert "403" in send["responses"]
    operations = [op for item in schema["paths"].values() for op in item.values()]
    assert all(op["x-required-scope"] in SCOPES for op in operations if "responses" in op)
    key = schema["components"]["schemas"]["ApiKey"]["properties"]
    assert {"scopes", "inboxIds", "requireApproval"} <= set(key)
    create = schema["components"]["schemas"]["ApiKeyCreateInputRequest"]["properties"]
    assert {"scopes", "inboxIds", "requireApproval"} <= set(create)
