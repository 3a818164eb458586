import pytest

from inboxes.models import ApiKey


@pytest.fixture
def policy(api_client, inbox):
    """Set the inbox's send policy through the API."""

    def set_policy(**body):
        response = api_client.patch(f"/v1/inboxes/{inbox.public_id}", body, format="json")
        assert response.status_code == 200, response.json()
        inbox.refresh_from_db()
        return response.json()

    return set_policy


@pytest.fixture
def url(inbox):
    def build(path=""):
        return f"/v1/inboxes/{inbox.public_id}/messages{path}"

    return build


@pytest.fixture
def agent_key(api_client):
    return ApiKey.objects.get(organization=api_client.organization)
