import pytest
from django.utils import timezone

from inboxes.models import ApiKey

pytestmark = pytest.mark.django_db


def test_creating_a_key_shows_the_secret_once_and_stores_only_its_hash(api_client):
    response = api_client.post("/v1/api_keys", {"name": "ci"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith("sk_") and body["prefix"] == body["key"][:11]
    assert body["_id"] == body["id"] and body["id"].startswith("key_")
    stored = ApiKey.objects.get(public_id=body["id"])
    assert body["key"] not in (stored.key_hash, stored.prefix)

    listed = api_client.get("/v1/api_keys").json()
    assert {"ci", "test"} == {row["name"] for row in listed}
    assert all("key" not in row for row in listed)
    assert "key" not in api_client.get(f"/v1/api_keys/{body['id']}").json()


def test_a_new_key_authenticates_and_records_last_used(api_client, anonymous_client):
    secret = api_client.post("/v1/api_keys", {"name": "agent"}, format="json").json()["key"]
    anonymous_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert anonymous_client.get("/v1/inboxes").status_code == 200
    key = ApiKey.objects.get(prefix=secret[:11])
    assert key.last_used_at is not None and key.last_used_at <= timezone.now()
    listed = {row["prefix"]: row for row in api_client.get("/v1/api_keys").json()}
    assert "lastUsedAt" in listed[secret[:11]]


def test_deleting_a_key_revokes_it(api_client, anonymous_client):
    created = api_client.post("/v1/api_keys", {"name": "temp"}, format="json").json()
    anonymous_client.credentials(HTTP_AUTHORIZATION=f"Bearer {created['key']}")
    assert anonymous_client.get("/v1/inboxes").status_code == 200

    response = api_client.delete(f"/v1/api_keys/{created['id']}")
    assert response.status_code == 200 and response.json()["id"] == created["id"]
    refused = anonymous_client.get("/v1/inboxes")
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    assert api_client.get(f"/v1/api_keys/{created['id']}").status_code == 404


def test_another_organizations_key_is_not_found(api_client, other_api_client):
    created = other_api_client.post("/v1/api_keys", {"name": "theirs"}, format="json").json()
    for method in (api_client.get, api_client.delete):
        response = method(f"/v1/api_keys/{created['id']}")
        assert response.status_code == 404
        assert response.json() == {
            "error": "API key not found",
            "message": "API key not found",
            "code": "api_key_not_found",
        }
    assert ApiKey.objects.get(public_id=created["id"]).revoked_at is None


@pytest.mark.parametrize("body", [{"name": 12}, {"name": ["a"]}, {"name": "x" * 201}])
def test_bad_key_names_are_rejected_naming_the_field(api_client, body):
    response = api_client.post("/v1/api_keys", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["name"]


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "   "}, {"name": None}, {"name": 5}])
def test_a_key_needs_a_name(api_client, body):
    # The original Sendook answers 400 too; a nameless key cannot be told apart later.
    response = api_client.post("/v1/api_keys", body, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["fields"]
    assert ApiKey.objects.filter(organization=api_client.organization).count() == 1


def test_a_key_made_without_a_name_before_it_was_required_shows_no_name(api_client):
    ApiKey.objects.filter(organization=api_client.organization).update(name="")
    [listed] = api_client.get("/v1/api_keys").json()
    assert "name" not in listed
