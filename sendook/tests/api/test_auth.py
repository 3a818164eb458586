"""Bearer API-key authentication: anything but a valid key is a 401 in the JSON error shape."""

import pytest

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
