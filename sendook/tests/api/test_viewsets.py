"""What OrgScopedViewSet does for every resource: the body of a write is a JSON object."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_body_that_is_not_an_object_is_a_400(api_client):
    for body in ("[]", '"text"', "3", "null"):
        response = api_client.post("/v1/inboxes", body, content_type="application/json")
        assert response.status_code == 400, body
        assert response.json()["code"] == "validation_error"
