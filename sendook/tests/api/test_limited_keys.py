"""A key limited to some inboxes (`inboxIds`) sees nothing of the others: every other inbox, and
everything under or about it, answers exactly as another organization's does (404), on every
route of the OpenAPI schema; and it creates nothing that would reach beyond its inboxes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from inboxes.models import ApiKey, Inbox
from inboxes.services import create_api_key
from inboxes.tests.factories import InboxFactory
from messages.models import ListEntry, Message
from messages.tests.mail_factories import AttachmentFactory, MessageFactory, ThreadFactory
from sendook.events.models import EventType
from sendook.events.services import record_event
from webhooks.models import SUBSCRIBABLE_EVENT_TYPES as EVENTS
from webhooks.models import Delivery, Webhook

pytestmark = pytest.mark.django_db

BODY = {"to": ["x@example.com"], "subject": "s", "text": "t", "name": "n", "enabled": False}


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.SENDOOK_WEBHOOK_ALLOW_PRIVATE = True
    settings.SENDOOK_API_RATE_LIMIT = "100000/m"
    settings.SENDOOK_SEND_RATE_LIMIT = "100000/h"


def _rows(organization, inbox: Inbox, *, webhook_inboxes: list[str]) -> dict[str, str]:
    """One of everything about `inbox`: its message, thread, attachment, event, a webhook for
    it, one of that webhook's deliveries, and a key limited to it."""
    message = MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox))
    draft = MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox), status="draft")
    attachment = AttachmentFactory(message=message)
    event = record_event(
        organization,
        event_type=EventType.MESSAGE_RECEIVED,
        payload={},
        inbox_id=inbox.public_id,
        message_id=message.public_id,
    )
    webhook = Webhook.objects.create(
        organization=organization,
        url="http://127.0.0.1/h",
        events=EVENTS,
        inbox_ids=webhook_inboxes,
    )
    delivery = Delivery.objects.create(event=event, webhook=webhook)
    key = create_api_key(organization, name="theirs", inbox_ids=[inbox.public_id]).api_key
    entry = ListEntry.objects.create(
        organization=organization, inbox=inbox, direction="receive", kind="block", value="x.example"
    )
    return {
        "inbox": inbox.public_id,
        "msg": message.public_id,
        "draft": draft.public_id,
        "thread": message.thread.public_id,
        "att": attachment.public_id,
        "evt": event.public_id,
        "wh": webhook.public_id,
        "dlv": delivery.public_id,
        "key": key.public_id,
        "list": entry.public_id,
    }


@pytest.fixture
def world(org, other_org):
    mine = InboxFactory(organization=org)
    besides = InboxFactory(organization=org)
    theirs = InboxFactory(organization=other_org)
    created = create_api_key(org, name="agent", inbox_ids=[mine.public_id])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    # An organization-wide event (about no inbox) and a webhook for every inbox.
    org_event = record_event(org, event_type=EventType.DOMAIN_VERIFIED, payload={})
    every = Webhook.objects.create(organization=org, url="http://127.0.0.1/all", events=EVENTS)
    return {
        "client": client,
        "key": created.api_key,
        "mine": _rows(org, mine, webhook_inboxes=[mine.public_id]),
        # In the organization but outside the key's inboxes.
        "besides": _rows(org, besides, webhook_inboxes=[besides.public_id]),
        "theirs": _rows(other_org, theirs, webhook_inboxes=[theirs.public_id]),
        "org_event": org_event.public_id,
        "every_webhook": every.public_id,
    }


def _params(path: str, rows: dict[str, str]) -> dict[str, str]:
    """Path parameters of an OpenAPI path, filled from one inbox's rows."""
    kinds = {"inbox_id": "inbox", "attachment_id": "att", "delivery_id": "dlv"}
    if path.startswith("/v1/inboxes/{inbox_id}/messages/"):
        kinds["id"] = "msg"
    elif path.startswith("/v1/inboxes/{inbox_id}/threads/"):
        kinds["id"] = "thread"
    elif path.startswith("/v1/inboxes/{inbox_id}/drafts/"):
        kinds["id"] = "draft"
    else:
        kinds["id"] = {
            "inboxes": "inbox",
            "api_keys": "key",
            "events": "evt",
            "webhooks": "wh",
            "approvals": "msg",
            "lists": "list",
        }.get(path.split("/")[2], "")
    return {name: rows[kinds[name]] for name in re.findall(r"\{(\w+)\}", path) if kinds.get(name)}


def _operations(client) -> list[tuple[str, str]]:
    paths = client.get("/v1/openapi.json").json()["paths"]
    return [
        (method, path)
        for path, item in paths.items()
        for method in item
        if "{" in path and not path.startswith("/v1/domains")  # domains belong to no inbox
    ]


def _call(client, method: str, path: str, params: dict[str, str]) -> Any:
    url = path.format(**params)
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, BODY, format="json")


def test_every_route_answers_a_limited_key_about_another_inbox_as_about_another_organization(
    world,
):
    client = world["client"]
    operations = _operations(client)
    assert len(operations) > 20
    before = _snapshot(world)
    probed = 0
    for method, path in operations:
        if not _params(path, world["besides"]):
            continue
        probed += 1
        outside = _call(client, method, path, _params(path, world["besides"]))
        foreign = _call(client, method, path, _params(path, world["theirs"]))
        label = f"{method.upper()} {path}"
        assert outside.status_code == 404, f"{label}: {outside.status_code} {outside.content!r}"
        assert outside.json() == foreign.json(), label
        # Its own inbox with another inbox's row: just as unknown.
        if "inbox_id" in path and "{id}" in path:
            mixed = {**_params(path, world["besides"]), "inbox_id": world["mine"]["inbox"]}
            response = _call(client, method, path, mixed)
            assert response.status_code == 404, label
    assert probed == len(operations)  # every route with an id was probed
    assert _snapshot(world) == before


def test_organization_wide_rows_are_outside_a_limited_keys_sight(world, api_client):
    client = world["client"]
    for path in (
        f"/v1/events/{world['org_event']}",
        f"/v1/webhooks/{world['every_webhook']}",
        f"/v1/webhooks/{world['every_webhook']}/attempts",
        f"/v1/api_keys/{ApiKey.objects.exclude(inbox_ids__isnull=False).first().public_id}",
    ):
        assert client.get(path).status_code == 404, path
        assert api_client.get(path).status_code == 200, path
    test = client.post(f"/v1/webhooks/{world['every_webhook']}/test")
    assert test.status_code == 404


def test_lists_show_a_limited_key_only_its_inboxes_rows(world):
    client = world["client"]
    mine, besides = world["mine"], world["besides"]
    assert [row["id"] for row in client.get("/v1/inboxes").json()] == [mine["inbox"]]
    assert [row["id"] for row in client.get("/v1/webhooks").json()] == [mine["wh"]]
    assert [row["id"] for row in client.get("/v1/events").json()] == [mine["evt"]]
    keys = {row["id"] for row in client.get("/v1/api_keys").json()}
    assert keys == {mine["key"], world["key"].public_id}
    listed = str([client.get(path).content for path in ("/v1/inboxes", "/v1/events")])
    assert besides["inbox"] not in listed and world["org_event"] not in listed
    after = client.get("/v1/events", {"after": besides["evt"]})
    assert after.status_code == 404


def test_a_limited_key_cannot_create_an_inbox(world, org):
    response = world["client"].post("/v1/inboxes", {"name": "new"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert "limited to some inboxes" in response.json()["error"]
    assert Inbox.objects.filter(organization=org).count() == 2


def test_a_webhook_made_by_a_limited_key_must_name_only_its_inboxes(world, org):
    client = world["client"]
    hook = {"url": "http://127.0.0.1/new", "events": ["message.received"]}
    every = client.post("/v1/webhooks", hook, format="json")
    assert every.status_code == 400 and list(every.json()["fields"]) == ["inboxIds"]
    outside = client.post(
        "/v1/webhooks", {**hook, "inboxIds": [world["besides"]["inbox"]]}, format="json"
    )
    foreign = client.post(
        "/v1/webhooks", {**hook, "inboxIds": [world["theirs"]["inbox"]]}, format="json"
    )
    assert outside.status_code == foreign.status_code == 400
    assert outside.json()["fields"]["inboxIds"][0].startswith("Inbox not found")
    assert Webhook.objects.filter(organization=org).count() == 3
    made = client.post(
        "/v1/webhooks", {**hook, "inboxIds": [world["mine"]["inbox"]]}, format="json"
    )
    assert made.status_code == 201, made.content
    widened = client.patch(f"/v1/webhooks/{made.json()['id']}", {"inboxIds": []}, format="json")
    assert widened.status_code == 400 and list(widened.json()["fields"]) == ["inboxIds"]
    assert Webhook.objects.get(public_id=made.json()["id"]).inbox_ids == [world["mine"]["inbox"]]


def test_a_limited_key_works_normally_on_its_own_inbox(world):
    client, mine = world["client"], world["mine"]
    base = f"/v1/inboxes/{mine['inbox']}"
    assert client.get(f"{base}/messages/{mine['msg']}").status_code == 200
    assert client.get(f"{base}/threads/{mine['thread']}").status_code == 200
    assert client.patch(base, {"name": "renamed"}, format="json").status_code == 200
    sent = client.post(
        f"{base}/messages/send",
        {"to": ["a@example.com"], "subject": "s", "text": "t"},
        format="json",
    )
    assert sent.status_code == 202, sent.content


def _snapshot(world) -> dict[str, Any]:
    ids = [world["besides"]["inbox"], world["theirs"]["inbox"]]
    return {
        "inboxes": sorted(Inbox.objects.filter(public_id__in=ids).values_list("public_id", "name")),
        "messages": sorted(
            Message.objects.filter(inbox__public_id__in=ids).values_list("public_id", "labels")
        ),
        "webhooks": sorted(Webhook.objects.values_list("public_id", "enabled", "inbox_ids")),
        "keys": sorted(ApiKey.objects.values_list("public_id", "revoked_at")),
        "lists": sorted(ListEntry.objects.values_list("public_id", "value")),
    }
