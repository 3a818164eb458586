"""Deliveries to real HTTP receivers on loopback, each verified with the `standardwebhooks`
package the way a customer's endpoint would verify it."""

import pytest

from sendook.events.models import Event
from webhooks.models import Delivery, DeliveryAttempt
from webhooks.services import delivery
from webhooks.tests.conftest import create_webhook
from webhooks.tests.receivers import ok, receiver, status
from webhooks.tests.services.delivery.conftest import make_webhook

pytestmark = pytest.mark.django_db

Status = Delivery.Status


def test_an_event_reaches_a_subscribed_webhook_signed_and_verifiable(api_client, org, on_commit):
    with receiver(ok()) as hook:
        webhook = create_webhook(api_client, hook.url, events=["inbox.created"])
        hook.secret = webhook["secret"]
        with on_commit():
            inbox = api_client.post("/v1/inboxes", {"name": "Bot"}, format="json").json()
        [request] = hook.wait_for_requests(1)
    assert request.verified, request.verify_error
    event = Event.objects.get(type="inbox.created")
    assert request.headers["webhook-id"] == event.public_id
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body == api_client.get(f"/v1/events/{event.public_id}").json()
    assert body["event"] == "inbox.created" and body["inboxId"] == inbox["id"]
    assert body["organizationId"] == org.public_id and body["payload"]["email"] == inbox["email"]
    row = Delivery.objects.get(event=event)
    assert row.status == Status.SUCCEEDED and row.attempts == 1 and row.next_attempt_at is None
    [attempt] = api_client.get(f"/v1/webhooks/{webhook['id']}/attempts").json()
    assert attempt["eventId"] == event.public_id and attempt["eventType"] == "inbox.created"
    assert attempt["statusCode"] == 200 and attempt["succeeded"] is True and attempt["attempt"] == 1
    assert attempt["responseExcerpt"] == '{"received": true}' and "error" not in attempt
    assert attempt["id"].startswith("whatt_") and "nextRetryAt" not in attempt


def test_the_test_endpoint_delivers_to_that_webhook_only_and_answers_with_the_attempt(
    api_client, org
):
    with receiver(ok()) as hook, receiver(ok()) as other:
        webhook = create_webhook(api_client, hook.url)
        create_webhook(api_client, other.url, events=["inbox.created"])
        hook.secret = webhook["secret"]
        response = api_client.post(f"/v1/webhooks/{webhook['id']}/test")
        assert other.requests == []
    assert response.status_code == 200
    attempt = response.json()
    assert attempt["succeeded"] is True and attempt["statusCode"] == 200 and attempt["attempt"] == 1
    assert attempt["eventType"] == "webhook.test" and attempt["deliveryStatus"] == "succeeded"
    [request] = hook.requests
    assert request.verified and request.headers["webhook-id"] == attempt["eventId"]
    assert request.json()["payload"]["webhookId"] == webhook["id"]
    # Test pings are not part of the organization's feed.
    assert all(row["event"] != "webhook.test" for row in api_client.get("/v1/events").json())


@pytest.mark.parametrize(
    ("answer", "success"), [(ok(), True), (status(500), False)], ids=["200", "500"]
)
def test_a_ping_says_success_the_way_the_original_sendooks_clients_read_it(
    api_client, answer, success
):
    # sendook-mcp (the original's published MCP server) reports "passed" only when the test
    # response carries `success: true`; it does not read `succeeded`.
    with receiver(answer) as hook:
        webhook = create_webhook(api_client, hook.url)
        attempt = api_client.post(f"/v1/webhooks/{webhook['id']}/test").json()
    assert attempt["success"] is success and attempt["succeeded"] is success


def test_one_run_posts_the_webhooks_pending_deliveries_over_one_connection(
    org, settings, queued, record
):
    settings.SENDOOK_WEBHOOK_BATCH_SIZE = 10
    with receiver(ok()) as hook:
        webhook = make_webhook(org, hook.url)
        hook.secret = webhook.secret
        events = record(6)
        first = Delivery.objects.order_by("pk").first()
        attempt = delivery.deliver(first.pk, expected_attempts=0)
        # The other deliveries' own runs find their work done.
        assert [delivery.deliver(pk, expected_attempts=0) for pk, _ in queued[1:]] == [None] * 5
        assert hook.connections == 1
    assert attempt is not None and attempt.succeeded and attempt.delivery_id == first.pk
    assert [request.headers["webhook-id"] for request in hook.requests] == [
        event.public_id for event in events
    ]
    assert all(request.verified for request in hook.requests)
    rows = Delivery.objects.all()
    assert {(row.status, row.attempts, row.lease) for row in rows} == {(Status.SUCCEEDED, 1, None)}
    assert DeliveryAttempt.objects.filter(succeeded=True, status_code=200).count() == 6
