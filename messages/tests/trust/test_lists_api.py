"""/v1/lists and the send side of the lists: entries per organization or inbox, their values,
the 409s and 404s, limited keys, and every send-type path refusing a blocked recipient (422
recipient_blocked naming the address) while sending nothing."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from inboxes.services import create_api_key
from inboxes.tests.factories import InboxFactory
from messages.models import ListEntry, Message
from messages.services import lists
from messages.services.provenance import SYSTEM
from messages.tests.mail_factories import MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.SENDOOK_API_RATE_LIMIT = "100000/m"
    settings.SENDOOK_SEND_RATE_LIMIT = "100000/h"
    settings.EMAIL_BACKEND = "messages.sandbox.SandboxEmailBackend"


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org, email="desk@sendook.localhost")


def _add(client, **body):
    return client.post("/v1/lists", body, format="json")


def test_an_entry_is_created_listed_read_and_deleted(api_client, inbox, org):
    made = _add(api_client, direction="receive", type="block", value="  Spam.Example ")
    assert made.status_code == 201, made.content
    entry = made.json()
    assert entry["id"].startswith("list_") and entry["_id"] == entry["id"]
    assert (entry["direction"], entry["type"], entry["value"]) == (
        "receive",
        "block",
        "spam.example",
    )
    assert "inboxId" not in entry and entry["createdBy"]["type"] == "api_key"
    assert entry["createdAt"].endswith("Z")
    mine = _add(
        api_client,
        direction="send",
        type="allow",
        value="Ann@Customer.example",
        inboxId=inbox.public_id,
    ).json()
    assert mine["inboxId"] == inbox.public_id and mine["value"] == "ann@customer.example"

    assert [row["id"] for row in api_client.get("/v1/lists").json()] == [mine["id"], entry["id"]]
    assert [r["id"] for r in api_client.get("/v1/lists", {"direction": "receive"}).json()] == [
        entry["id"]
    ]
    assert [r["id"] for r in api_client.get("/v1/lists", {"type": "allow"}).json()] == [mine["id"]]
    by_inbox = api_client.get("/v1/lists", {"inboxId": inbox.public_id}).json()
    assert [r["id"] for r in by_inbox] == [mine["id"]]
    assert api_client.get(f"/v1/lists/{entry['id']}").json() == entry

    deleted = api_client.delete(f"/v1/lists/{entry['id']}")
    assert deleted.status_code == 200 and deleted.json()["id"] == entry["id"]
    assert api_client.get(f"/v1/lists/{entry['id']}").status_code == 404
    assert list(ListEntry.objects.values_list("public_id", flat=True)) == [mine["id"]]


def test_an_idna_domain_is_stored_as_its_a_label(api_client):
    entry = _add(api_client, direction="receive", type="block", value="ann@Bücher.example").json()
    assert entry["value"] == "ann@xn--bcher-kva.example"


def test_the_same_entry_twice_is_a_409_and_the_same_value_elsewhere_is_not(api_client, inbox):
    body = {"direction": "receive", "type": "block", "value": "spam.example"}
    assert _add(api_client, **body).status_code == 201
    again = _add(api_client, **{**body, "value": "SPAM.example."})
    assert again.status_code == 409 and again.json()["code"] == "list_entry_exists"
    assert "spam.example" in again.json()["error"]
    assert _add(api_client, **body, inboxId=inbox.public_id).status_code == 201
    assert _add(api_client, **{**body, "type": "allow"}).status_code == 201
    assert _add(api_client, **{**body, "direction": "send"}).status_code == 201
    assert ListEntry.objects.count() == 4


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "a b@example.com",
        "example .com",
        "@",
        "@example.com",
        "a@",
        "a@@example.com",
        "*.example.com",
        "*@example.com",
        "exam?le.com",
        "https://example.com",
        "example.com/path",
        "Ann <ann@example.com>",
        "localhost",
        "-bad.example",
        "a..b@example.com",
        "10.0.0.1",
        "x" * 64 + ".example",
        "a@" + "b" * 320 + ".example",
        "a" * 65 + "@example.com",
        "ex\u0000ample.com",
        "line\nbreak.example",
    ],
)
def test_a_bad_value_is_a_400_naming_value(api_client, value):
    response = _add(api_client, direction="receive", type="block", value=value)
    assert response.status_code == 400, (value, response.content)
    body = response.json()
    assert list(body["fields"]) == ["value"], body
    assert ListEntry.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"direction": "inbound", "type": "block", "value": "a.example"}, "direction"),
        ({"direction": "receive", "type": "deny", "value": "a.example"}, "type"),
        ({"direction": "receive", "type": "block", "value": 5}, "value"),
        ({"direction": "receive", "type": "block"}, "value"),
    ],
)
def test_a_bad_direction_type_or_missing_value_is_a_400_naming_it(api_client, body, field):
    response = _add(api_client, **body)
    assert response.status_code == 400 and field in response.json()["fields"]


def test_bad_filters_are_400s(api_client):
    assert api_client.get("/v1/lists", {"direction": "up"}).status_code == 400
    assert api_client.get("/v1/lists", {"type": "maybe"}).json()["fields"] == {
        "type": ["Must be allow or block."]
    }


def test_another_organizations_inbox_and_entries_are_not_found(
    api_client, other_api_client, other_org
):
    theirs = InboxFactory(organization=other_org)
    response = _add(
        api_client, direction="receive", type="block", value="a.example", inboxId=theirs.public_id
    )
    assert response.status_code == 404 and response.json()["code"] == "inbox_not_found"
    assert api_client.get("/v1/lists", {"inboxId": theirs.public_id}).status_code == 404
    entry = _add(other_api_client, direction="receive", type="block", value="a.example").json()
    for method in ("get", "delete"):
        response = getattr(api_client, method)(f"/v1/lists/{entry['id']}")
        assert response.status_code == 404 and response.json()["code"] == "list_entry_not_found"
    assert api_client.get("/v1/lists").json() == []
    assert ListEntry.objects.filter(public_id=entry["id"]).exists()


def test_a_limited_key_sees_and_manages_only_its_inboxes_entries(org, inbox, api_client):
    besides = InboxFactory(organization=org)
    org_wide = _add(api_client, direction="receive", type="block", value="a.example").json()
    theirs = _add(
        api_client, direction="receive", type="block", value="b.example", inboxId=besides.public_id
    ).json()
    limited = APIClient()
    secret = create_api_key(org, name="agent", inbox_ids=[inbox.public_id]).secret
    limited.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    refused = _add(limited, direction="receive", type="block", value="c.example")
    assert refused.status_code == 403 and "inboxId" in refused.json()["error"]
    outside = _add(
        limited, direction="receive", type="block", value="c.example", inboxId=besides.public_id
    )
    assert outside.status_code == 404
    made = _add(
        limited, direction="receive", type="block", value="c.example", inboxId=inbox.public_id
    )
    assert made.status_code == 201
    assert [row["id"] for row in limited.get("/v1/lists").json()] == [made.json()["id"]]
    for entry in (org_wide, theirs):
        assert limited.get(f"/v1/lists/{entry['id']}").status_code == 404
        assert limited.delete(f"/v1/lists/{entry['id']}").status_code == 404
    assert ListEntry.objects.count() == 3


def test_reading_needs_inboxes_read_and_changing_inboxes_write(org):
    reader = APIClient()
    reader.credentials(
        HTTP_AUTHORIZATION=f"Bearer {create_api_key(org, name='r', scopes=['inboxes:read']).secret}"
    )
    assert reader.get("/v1/lists").status_code == 200
    response = _add(reader, direction="receive", type="block", value="a.example")
    assert response.status_code == 403 and response.json()["requiredScope"] == "inboxes:write"


# --- the send side ------------------------------------------------------------------------------


def _block_send(org, value, *, inbox=None, kind="block"):
    lists.add_entry(org, inbox=inbox, direction="send", kind=kind, value=value, actor=SYSTEM)


def _send(client, inbox, **body):
    body = {"subject": "s", "text": "t", **body}
    return client.post(f"/v1/inboxes/{inbox.public_id}/messages/send", body, format="json")


@pytest.mark.parametrize("field", ["to", "cc", "bcc"])
def test_a_send_to_a_blocked_recipient_is_a_422_naming_the_address(org, inbox, api_client, field):
    _block_send(org, "rival.example")
    recipients = {"to": ["ok@customer.example"], field: ["Bob <Bob@Mail.Rival.example>"]}
    if field == "to":
        recipients["to"] = ["ok@customer.example", "Bob <Bob@Mail.Rival.example>"]
    response = _send(api_client, inbox, **recipients)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "recipient_blocked" and body["address"] == "bob@mail.rival.example"
    assert "bob@mail.rival.example" in body["error"]
    index = 1 if field == "to" else 0
    assert list(body["fields"]) == [f"{field}.{index}"]
    assert Message.objects.count() == 0


def test_send_allow_entries_let_only_listed_recipients_through(org, inbox, api_client):
    other = InboxFactory(organization=org)
    _block_send(org, "customer.example", inbox=inbox, kind="allow")
    assert _send(api_client, inbox, to=["ann@customer.example"]).status_code == 202
    assert _send(api_client, inbox, to=["x@eu.customer.example"]).status_code == 202
    refused = _send(api_client, inbox, to=["ann@customer.example"], cc=["eve@elsewhere.example"])
    assert refused.status_code == 422 and refused.json()["address"] == "eve@elsewhere.example"
    assert "allow list" in refused.json()["error"]
    # The inbox's allow list is the inbox's: the organization's other inboxes send freely.
    assert _send(api_client, other, to=["eve@elsewhere.example"]).status_code == 202
    # A block inside an allowed domain still blocks.
    _block_send(org, "ceo@customer.example")
    assert _send(api_client, inbox, to=["ceo@customer.example"]).status_code == 422
    assert Message.objects.count() == 3


def test_replies_forwards_drafts_and_approvals_meet_the_same_check(org, inbox, api_client):
    parent = MessageFactory(
        inbox=inbox,
        thread=ThreadFactory(inbox=inbox, organization=org),
        organization=org,
        from_email="bob@rival.example",
        to=[inbox.email],
        cc=["carol@rival.example"],
    )
    base = f"/v1/inboxes/{inbox.public_id}"
    inbox.send_approval = "always"
    inbox.save()
    held = _send(api_client, inbox, to=["dan@rival.example"]).json()
    assert held["status"] == "pending_approval"
    draft = api_client.post(
        f"{base}/drafts", {"to": ["dan@rival.example"], "subject": "d", "text": "t"}, format="json"
    ).json()
    _block_send(org, "rival.example")
    count = Message.objects.count()
    for path, body in (
        (f"{base}/messages/{parent.public_id}/reply", {"text": "hi"}),
        (f"{base}/messages/{parent.public_id}/reply-all", {"text": "hi"}),
        (f"{base}/messages/{parent.public_id}/forward", {"to": ["eve@rival.example"]}),
        (f"{base}/drafts/{draft['id']}/send", {}),
        (f"{base}/messages/{held['id']}/approve", {}),
    ):
        response = api_client.post(path, body, format="json")
        assert response.status_code == 422, (path, response.content)
        assert response.json()["code"] == "recipient_blocked", path
        assert response.json()["address"].endswith("@rival.example"), path
    assert Message.objects.count() == count
    assert Message.objects.get(public_id=held["id"]).status == "pending_approval"
    assert Message.objects.get(public_id=draft["id"]).status == "draft"


def test_a_send_list_never_touches_receiving_and_the_other_way_round(org, inbox):
    _block_send(org, "rival.example")
    assert lists.listed(org, inbox=inbox, direction="receive", address="a@rival.example") is None
    assert lists.listed(org, inbox=inbox, direction="send", address="a@rival.example") == "block"


# --- release over the API -------------------------------------------------------------------


def test_release_over_the_api_answers_the_received_message_then_409(org, inbox, api_client):
    thread = ThreadFactory(inbox=inbox, organization=org)
    blocked = MessageFactory(inbox=inbox, thread=thread, organization=org, status="blocked")
    url = f"/v1/inboxes/{inbox.public_id}/messages/{blocked.public_id}/release"
    response = api_client.post(url)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "received"
    again = api_client.post(url)
    assert again.status_code == 409 and again.json()["code"] == "message_not_blocked"
    assert "received" in again.json()["error"]


def test_release_of_another_organizations_message_is_not_found(other_org, inbox, api_client):
    theirs_inbox = InboxFactory(organization=other_org)
    theirs = MessageFactory(
        inbox=theirs_inbox,
        thread=ThreadFactory(inbox=theirs_inbox, organization=other_org),
        organization=other_org,
        status="blocked",
    )
    for inbox_id in (inbox.public_id, theirs_inbox.public_id):
        url = f"/v1/inboxes/{inbox_id}/messages/{theirs.public_id}/release"
        assert api_client.post(url).status_code == 404
    assert Message.objects.get(pk=theirs.pk).status == "blocked"


def test_release_needs_inboxes_write(org, inbox):
    thread = ThreadFactory(inbox=inbox, organization=org)
    blocked = MessageFactory(inbox=inbox, thread=thread, organization=org, status="blocked")
    client = APIClient()
    secret = create_api_key(org, name="r", scopes=["messages:read", "messages:send"]).secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    url = f"/v1/inboxes/{inbox.public_id}/messages/{blocked.public_id}/release"
    response = client.post(url)
    assert response.status_code == 403 and response.json()["requiredScope"] == "inboxes:write"
    assert Message.objects.get(pk=blocked.pk).status == "blocked"
