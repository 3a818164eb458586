"""Scoped keys: `scopes`, `inboxIds` and `requireApproval` on create, shown on the key, and a key
never mints (or revokes) a key wider than itself."""

import pytest
from rest_framework.test import APIClient

from inboxes.models import ApiKey
from inboxes.services import create_api_key
from inboxes.tests.factories import InboxFactory
from sendook.api import SCOPES

pytestmark = pytest.mark.django_db


def _client(org, **powers) -> APIClient:
    client = APIClient()
    created = create_api_key(org, name="maker", **powers)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    client.key = created.api_key
    return client


def _keys(org) -> int:
    return ApiKey.objects.filter(organization=org).count()


def test_a_key_made_without_scopes_has_every_scope_and_every_inbox(api_client):
    body = api_client.post("/v1/api_keys", {"name": "full"}, format="json").json()
    assert body["scopes"] == list(SCOPES)
    assert body["requireApproval"] is False
    assert "inboxIds" not in body


def test_scopes_inboxes_and_approval_are_stored_and_shown_on_create_list_and_get(org, api_client):
    inbox = InboxFactory(organization=org)
    response = api_client.post(
        "/v1/api_keys",
        {
            "name": "support bot",
            "scopes": ["messages:read", "messages:send"],
            "inboxIds": [inbox.public_id],
            "requireApproval": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    shown = {"scopes": ["messages:read", "messages:send"], "inboxIds": [inbox.public_id]}
    assert created | shown == created and created["requireApproval"] is True
    fetched = api_client.get(f"/v1/api_keys/{created['id']}").json()
    listed = {row["id"]: row for row in api_client.get("/v1/api_keys").json()}[created["id"]]
    for row in (fetched, listed):
        assert row["scopes"] == shown["scopes"] and row["inboxIds"] == shown["inboxIds"]
        assert row["requireApproval"] is True
    stored = ApiKey.objects.get(public_id=created["id"])
    assert stored.require_approval is True and stored.inbox_ids == [inbox.public_id]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": ["messages:delete"]}, "scopes"),
        ({"scopes": "messages:read"}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["messages:read", "messages:read"]}, "scopes"),
        ({"scopes": [5]}, "scopes"),
        ({"scopes": None}, "scopes"),
        ({"scopes": {"messages:read": True}}, "scopes"),
        ({"inboxIds": []}, "inboxIds"),
        ({"inboxIds": "inbox_x"}, "inboxIds"),
        ({"inboxIds": [7]}, "inboxIds"),
        ({"inboxIds": ["inbox_doesnotexist"]}, "inboxIds"),
        ({"inboxIds": None}, "inboxIds"),
        ({"requireApproval": "yes"}, "requireApproval"),
        ({"requireApproval": 1}, "requireApproval"),
        ({"requireApproval": None}, "requireApproval"),
    ],
)
def test_bad_scopes_inboxes_or_approval_are_a_400_naming_the_field(org, api_client, body, field):
    response = api_client.post("/v1/api_keys", {"name": "bad", **body}, format="json")
    assert response.status_code == 400, response.content
    [named] = response.json()["fields"]
    assert named.split(".")[0] == field  # "scopes", or "scopes.0" for the item to blame
    assert _keys(org) == 1


def test_a_duplicate_inbox_id_is_a_400_naming_inbox_ids(org, api_client):
    inbox = InboxFactory(organization=org)
    response = api_client.post(
        "/v1/api_keys",
        {"name": "dup", "inboxIds": [inbox.public_id, inbox.public_id]},
        format="json",
    )
    assert response.status_code == 400 and list(response.json()["fields"]) == ["inboxIds"]


def test_another_organizations_inbox_cannot_be_given_to_a_key(org, other_org, api_client):
    theirs = InboxFactory(organization=other_org)
    mine = InboxFactory(organization=org)
    response = api_client.post(
        "/v1/api_keys", {"name": "x", "inboxIds": [mine.public_id, theirs.public_id]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"inboxIds": [f"Inbox not found: {theirs.public_id}"]}
    assert _keys(org) == 1


def test_a_key_without_keys_write_cannot_make_keys(org):
    client = _client(org, scopes=["messages:read", "messages:send"])
    response = client.post("/v1/api_keys", {"name": "x"}, format="json")
    assert response.status_code == 403 and response.json()["requiredScope"] == "keys:write"
    assert _keys(org) == 1


def test_a_key_cannot_give_scopes_it_lacks(org):
    client = _client(org, scopes=["keys:write", "messages:read"])
    response = client.post(
        "/v1/api_keys", {"name": "x", "scopes": ["messages:read", "messages:send"]}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert "messages:send" in response.json()["fields"]["scopes"][0]
    assert _keys(org) == 1


def test_a_key_made_by_a_narrow_key_without_scopes_gets_the_makers_own(org):
    inbox = InboxFactory(organization=org)
    client = _client(
        org,
        scopes=["keys:write", "messages:read"],
        inbox_ids=[inbox.public_id],
        require_approval=True,
    )
    body = client.post("/v1/api_keys", {"name": "child"}, format="json").json()
    assert body["scopes"] == ["messages:read", "keys:write"]  # always in the documented order
    assert body["inboxIds"] == [inbox.public_id]
    assert body["requireApproval"] is True


def test_a_limited_key_cannot_give_an_inbox_outside_its_own(org):
    mine, other = InboxFactory(organization=org), InboxFactory(organization=org)
    client = _client(org, scopes=["keys:write"], inbox_ids=[mine.public_id])
    response = client.post(
        "/v1/api_keys", {"name": "x", "inboxIds": [other.public_id]}, format="json"
    )
    # The same answer as for an inbox that does not exist: the key never learns of it.
    assert response.status_code == 400
    assert response.json()["fields"] == {"inboxIds": [f"Inbox not found: {other.public_id}"]}
    ok = client.post("/v1/api_keys", {"name": "y", "inboxIds": [mine.public_id]}, format="json")
    assert ok.status_code == 201


def test_an_unlimited_key_may_give_any_of_its_organizations_inboxes(org):
    a, b = InboxFactory(organization=org), InboxFactory(organization=org)
    client = _client(org, scopes=["keys:write", "messages:read"])
    response = client.post(
        "/v1/api_keys", {"name": "x", "inboxIds": [a.public_id, b.public_id]}, format="json"
    )
    assert response.status_code == 201 and response.json()["inboxIds"] == [a.public_id, b.public_id]


def test_a_key_that_needs_approval_only_makes_keys_that_need_approval(org):
    client = _client(org, require_approval=True)
    refused = client.post("/v1/api_keys", {"name": "x", "requireApproval": False}, format="json")
    assert refused.status_code == 403 and list(refused.json()["fields"]) == ["requireApproval"]
    made = client.post("/v1/api_keys", {"name": "y", "requireApproval": True}, format="json")
    assert made.status_code == 201 and made.json()["requireApproval"] is True


def test_a_limited_key_sees_only_keys_limited_to_its_inboxes(org, api_client):
    mine, other = InboxFactory(organization=org), InboxFactory(organization=org)
    inside = create_api_key(org, name="inside", inbox_ids=[mine.public_id]).api_key
    outside = create_api_key(org, name="outside", inbox_ids=[other.public_id]).api_key
    client = _client(org, scopes=["keys:write"], inbox_ids=[mine.public_id])
    listed = {row["name"] for row in client.get("/v1/api_keys").json()}
    assert listed == {"inside", "maker"}
    assert client.get(f"/v1/api_keys/{inside.public_id}").status_code == 200
    for method in (client.get, client.delete):
        response = method(f"/v1/api_keys/{outside.public_id}")
        assert response.status_code == 404
        assert response.json() == {
            "error": "API key not found",
            "message": "API key not found",
            "code": "api_key_not_found",
        }
    assert ApiKey.objects.get(pk=outside.pk).revoked_at is None
    # The full key of the organization is not its business either.
    assert api_client.get("/v1/api_keys").status_code == 200
    assert len(api_client.get("/v1/api_keys").json()) == 4


def test_a_key_revokes_keys_within_its_powers_but_not_wider_ones(org):
    client = _client(org, scopes=["keys:write", "messages:read"])
    narrower = create_api_key(org, name="narrow", scopes=["messages:read"]).api_key
    wider = create_api_key(org, name="wide").api_key
    refused = client.delete(f"/v1/api_keys/{wider.public_id}")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert ApiKey.objects.get(pk=wider.pk).revoked_at is None
    assert client.delete(f"/v1/api_keys/{narrower.public_id}").status_code == 200
    assert ApiKey.objects.get(pk=narrower.pk).revoked_at is not None
    # Itself is not wider than itself.
    assert client.delete(f"/v1/api_keys/{client.key.public_id}").status_code == 200
    assert client.get("/v1/api_keys").status_code == 401


def test_a_key_that_needs_approval_cannot_revoke_one_that_does_not(org):
    client = _client(org, require_approval=True)
    free = create_api_key(org, name="free").api_key
    assert client.delete(f"/v1/api_keys/{free.public_id}").status_code == 403
