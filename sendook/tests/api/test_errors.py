"""Every error under /v1 has the one JSON shape, even where no API route matched."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/v1/nope", "/v1/", "/v1/inboxes/x/y/z", "/v1/openapi.yaml"])
def test_unknown_routes_under_v1_are_json_404s(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 404
    assert response.json() == {"error": "Not found", "message": "Not found", "code": "not_found"}


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
    assert response.json() == {"error": "Not found", "message": "Not found", "code": "not_found"}


def test_a_wrong_method_is_a_json_405(api_client):
    response = api_client.put("/v1/inboxes", {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_every_error_repeats_its_text_as_message_for_the_original_sendooks_clients(api_client):
    # sendook-mcp (the original's published MCP server) shows an agent the body's `message`
    # ("Resource not found - Unknown error" without it), so each error says it under both names.
    missing = api_client.get("/v1/inboxes/inbox_01J3ZKZ0BRQ9SSJK1GRSCX4N4Z").json()
    assert missing["message"] == missing["error"] == "Inbox not found"
    invalid = api_client.post("/v1/inboxes", {"email": "not an address"}, format="json").json()
    assert invalid["code"] == "validation_error" and invalid["message"] == invalid["error"]
    assert "email" in invalid["message"]
    unauthorized = Client(HTTP_AUTHORIZATION="Bearer sk_not_a_key").get("/v1/inboxes").json()
    assert unauthorized["code"] == "unauthorized" and unauthorized["message"]
    assert unauthorized["message"] == unauthorized["error"]
