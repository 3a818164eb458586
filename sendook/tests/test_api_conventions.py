"""The conventions every /v1 endpoint shares (API.md), exercised through real endpoints."""

import re

import pytest
from django.test import Client
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from inboxes.models import IdempotencyRecord, Inbox
from inboxes.tests.factories import InboxFactory
from sendook.api import idempotent
from sendook.exceptions import Conflict

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer sk_unknown", "Basic dXNlcjpwYXNz", "Token abc", "Bearer " + "x" * 500],
)
def test_requests_without_a_valid_key_get_a_401_json(anonymous_client, authorization):
    if authorization:
        anonymous_client.credentials(HTTP_AUTHORIZATION=authorization)
    response = anonymous_client.get("/v1/inboxes")
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ["/v1/nope", "/v1/", "/v1/inboxes/x/y/z", "/v1/openapi.yaml"])
def test_unknown_routes_under_v1_are_json_404s(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 404
    assert response.json() == {"error": "Not found", "code": "not_found"}


@pytest.mark.parametrize("method", ["post", "patch", "put", "delete"])
@pytest.mark.parametrize("path", ["/v1/nope", "/v1/inboxes/a%1Bb", "/v1/webhooks/%3F%2C"])
def test_unknown_routes_under_v1_are_json_404s_for_writes_too(api_client, method, path):
    # Found by reliability/api_fuzz.py: a write to a path no API route matches (an id the
    # router's pattern refuses) met Django's CSRF check and got its HTML 403 page. The test
    # client skips CSRF checks unless asked, as a real client's request never is.
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {api_client.secret}")
    response = getattr(client, method)(path, {"name": "x"}, content_type="application/json")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not found", "code": "not_found"}


def test_a_wrong_method_is_a_json_405(api_client):
    response = api_client.put("/v1/inboxes", {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_malformed_json_is_a_400(api_client):
    response = api_client.post("/v1/inboxes", '{"name": "x",', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"
    for body in ("NaN", '{"name": Infinity}', b"\xff\xfe{}"):
        assert (
            api_client.post("/v1/inboxes", body, content_type="application/json").status_code == 400
        )


def test_a_non_json_content_type_is_a_415(api_client):
    response = api_client.post(
        "/v1/inboxes", "name=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_a_body_that_is_not_an_object_is_a_400(api_client):
    for body in ("[]", '"text"', "3", "null"):
        response = api_client.post("/v1/inboxes", body, content_type="application/json")
        assert response.status_code == 400, body
        assert response.json()["code"] == "validation_error"


def test_an_oversized_body_is_a_413_and_stores_nothing(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = api_client.post("/v1/inboxes", {"name": "x" * 5000}, format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert Inbox.objects.count() == 0


def test_lists_are_bare_arrays_paginated_with_a_link_header(api_client, org):
    InboxFactory.create_batch(7, organization=org)
    seen = []
    url = "/v1/inboxes?limit=3"
    pages = 0
    while url:
        response = api_client.get(url)
        assert response.status_code == 200
        assert isinstance(response.json(), list)
        seen += [row["id"] for row in response.json()]
        pages += 1
        link = response.headers.get("Link")
        url = re.match(r'<http://testserver([^>]+)>; rel="next"', link).group(1) if link else None
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    # newest first, and ids sort by creation time
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=abc", "limit=-5", "cursor=%%%", "cursor=bm9wZQ"]
)
def test_bad_pagination_parameters_are_400s(api_client, query):
    response = api_client.get(f"/v1/inboxes?{query}")
    assert response.status_code == 400
    assert response.json()["code"] in ("validation_error", "invalid_cursor")


def test_a_limit_above_the_maximum_is_capped(api_client, org):
    InboxFactory.create_batch(3, organization=org)
    assert len(api_client.get("/v1/inboxes?limit=5000").json()) == 3


def test_the_api_rate_limit_is_per_organization_with_headers(
    api_client, other_api_client, settings
):
    settings.SENDOOK_API_RATE_LIMIT = "3/m"
    for remaining in (2, 1, 0):
        response = api_client.get("/v1/inboxes")
        assert response.status_code == 200
        assert f"remaining={remaining}" in response.headers["RateLimit"]
        assert response.headers["RateLimit-Policy"] == "3;w=60"
    limited = api_client.get("/v1/inboxes")
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "remaining=0" in limited.headers["RateLimit"]
    # another organization has its own budget
    assert other_api_client.get("/v1/inboxes").status_code == 200


def test_a_cache_outage_does_not_turn_requests_into_errors(api_client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    from django.core.cache import caches

    caches._settings = None  # make the cache handler re-read CACHES
    caches.__dict__.pop("settings", None)
    try:
        caches._connections.__dict__.pop("default", None)  # drop this thread's cached instance
        # The request really meets an unreachable Redis (not the test's local-memory cache).
        assert type(caches["default"]).__name__ == "RedisCache"
        response = api_client.get("/v1/inboxes")
    finally:
        caches.__dict__.pop("settings", None)
        caches._connections.__dict__.pop("default", None)
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_health_reports_the_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["healthy"] is True
    assert response.json()["database"] == "ok"


def test_the_openapi_schema_describes_the_endpoints(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert {"/v1/inboxes", "/v1/domains/{id}/verify", "/v1/api_keys/{id}"} <= set(schema["paths"])
    inbox = schema["components"]["schemas"]["Inbox"]["properties"]
    assert {"id", "_id", "organizationId", "createdAt"} <= set(inbox)
    assert client.get("/v1/docs").status_code == 200


# --- Idempotency-Key, exercised through the helper the send endpoints use ---------------------


def _call(org, handler, key="k-1", body=None):
    factory = APIRequestFactory()
    request = factory.post("/v1/x", body or {"a": 1}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    from rest_framework.parsers import JSONParser
    from rest_framework.request import Request

    return idempotent(Request(request, parsers=[JSONParser()]), org, handler)


def test_an_idempotency_key_replays_the_first_response_without_running_again(org):
    calls = []

    def handler():
        calls.append(1)
        InboxFactory(organization=org)
        return Response({"n": len(calls)}, status=202)

    first = _call(org, handler)
    second = _call(org, handler)
    assert first.status_code == second.status_code == 202
    assert second.data == {"n": 1} and second.headers["Idempotent-Replayed"] == "true"
    assert len(calls) == 1 and Inbox.objects.count() == 1


def test_the_same_key_with_another_body_is_a_conflict(org):
    _call(org, lambda: Response({}, status=202))
    with pytest.raises(Conflict) as error:
        _call(org, lambda: Response({}, status=202), body={"a": 2})
    assert error.value.code == "idempotency_key_reused"


def test_a_failed_request_does_not_consume_the_key(org):
    def failing():
        InboxFactory(organization=org)
        raise Conflict("nope")

    with pytest.raises(Conflict):
        _call(org, failing)
    assert Inbox.objects.count() == 0
    assert not IdempotencyRecord.objects.exists()
    assert _call(org, lambda: Response({"ok": True}, status=202)).data == {"ok": True}


def test_keys_are_scoped_per_organization(org, other_org):
    _call(org, lambda: Response({"org": 1}, status=202))
    assert _call(other_org, lambda: Response({"org": 2}, status=202)).data == {"org": 2}
