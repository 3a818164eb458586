"""The OpenAPI schema at /v1/openapi.json describes the endpoints and their shapes."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_describes_the_endpoints(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert {"/v1/inboxes", "/v1/domains/{id}/verify", "/v1/api_keys/{id}"} <= set(schema["paths"])
    inbox = schema["components"]["schemas"]["Inbox"]["properties"]
    assert {"id", "_id", "organizationId", "createdAt"} <= set(inbox)
    assert client.get("/v1/docs").status_code == 200
