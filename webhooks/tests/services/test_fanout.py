"""Fan-out: an event gets one delivery per enabled webhook that subscribes to it."""

import pytest

from sendook.events.models import Event
from webhooks.models import Delivery
from webhooks.tests.conftest import create_webhook

pytestmark = pytest.mark.django_db

Status = Delivery.Status


def test_only_subscribed_enabled_webhooks_matching_the_inbox_filter_get_deliveries(api_client, org):
    inbox_a = api_client.post("/v1/inboxes", {"name": "A"}, format="json").json()
    inbox_b = api_client.post("/v1/inboxes", {"name": "B"}, format="json").json()
    url = "http://127.0.0.1:9/"
    everything = create_webhook(api_client, url, events=["inbox.updated"])
    only_a = create_webhook(api_client, url, events=["inbox.updated"], inboxIds=[inbox_a["id"]])
    other_type = create_webhook(api_client, url, events=["message.received"])
    disabled = create_webhook(api_client, url, events=["inbox.updated"])
    api_client.patch(f"/v1/webhooks/{disabled['id']}", {"enabled": False}, format="json")

    api_client.patch(f"/v1/inboxes/{inbox_b['id']}", {"name": "B2"}, format="json")
    event = Event.objects.get(type="inbox.updated")
    assert set(
        Delivery.objects.filter(event=event).values_list("webhook__public_id", flat=True)
    ) == {everything["id"]}
    api_client.patch(f"/v1/inboxes/{inbox_a['id']}", {"name": "A2"}, format="json")
    event = Event.objects.filter(type="inbox.updated").latest("id")
    assert set(
        Delivery.objects.filter(event=event).values_list("webhook__public_id", flat=True)
    ) == {everything["id"], only_a["id"]}
    assert not Delivery.objects.filter(
        webhook__public_id__in=[other_type["id"], disabled["id"]]
    ).exists()
