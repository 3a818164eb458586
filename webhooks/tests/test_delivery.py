"""Deliveries to real HTTP receivers on loopback, each verified with the `standardwebhooks`
package the way a customer's endpoint would verify it."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from sendook.events.models import Event, EventType
from sendook.events.services import record_event
from webhooks import tasks
from webhooks.models import Delivery, DeliveryAttempt, Webhook
from webhooks.services import delivery
from webhooks.services.delivery import posting, queueing
from webhooks.tests.conftest import create_webhook
from webhooks.tests.receivers import fail_first, hang, ok, receiver, redirect, status

pytestmark = pytest.mark.django_db

Status = Delivery.Status


def sweep_until_final(on_commit, rounds=10):
    """Drive the periodic sweep as beat would (time passing), until nothing is left to retry."""
    for _ in range(rounds):
        Delivery.objects.filter(status__in=[Status.PENDING, Status.FAILED]).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        with on_commit():
            if not queueing.sweep_due_deliveries():
                return


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


def test_deliveries_are_queued_on_commit_never_inside_the_request(api_client, org):
    with receiver(ok()) as hook:
        create_webhook(api_client, hook.url, events=["inbox.created"])
        # No commit happens inside this test's transaction, so nothing may have been posted.
        api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        assert hook.requests == []
    row = Delivery.objects.get()
    assert row.status == Status.PENDING and row.attempts == 0 and row.next_attempt_at


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


def test_a_receiver_that_fails_first_gets_the_event_on_a_later_attempt_with_the_same_id(
    api_client, org, on_commit
):
    with receiver(fail_first(2)) as hook:
        webhook = create_webhook(api_client, hook.url)
        hook.secret = webhook["secret"]
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        row = Delivery.objects.get()
        assert row.status == Status.FAILED and row.attempts == 1 and row.last_status_code == 500
        sweep_until_final(on_commit)
        requests = hook.wait_for_requests(3)
    assert len(requests) == 3 and all(request.verified for request in requests)
    assert len({request.headers["webhook-id"] for request in requests}) == 1
    assert len({request.body for request in requests}) == 1
    row.refresh_from_db()
    assert row.status == Status.SUCCEEDED and row.attempts == 3 and row.delivered_at
    attempts = api_client.get(f"/v1/webhooks/{webhook['id']}/attempts").json()
    assert [a["attempt"] for a in attempts] == [3, 2, 1]  # newest first
    assert [a.get("statusCode") for a in attempts] == [200, 500, 500]
    assert attempts[2]["error"] == "HTTP 500 Internal Server Error"
    assert attempts[2]["responseExcerpt"] == "not yet" and "nextRetryAt" in attempts[2]
    page = api_client.get(f"/v1/webhooks/{webhook['id']}/attempts?limit=2")
    assert len(page.json()) == 2 and 'rel="next"' in page.headers["Link"]


def test_the_retry_schedule_comes_from_settings_with_jitter(api_client, settings, on_commit):
    settings.SENDOOK_WEBHOOK_RETRY_SCHEDULE = [60.0, 600.0]
    settings.SENDOOK_WEBHOOK_RETRY_JITTER = 0.5
    with receiver(status(503)) as hook:
        create_webhook(api_client, hook.url)
        before = timezone.now()
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
    row = Delivery.objects.get()
    wait = (row.next_attempt_at - before).total_seconds()
    assert row.status == Status.FAILED and 60 <= wait <= 91
    # Not due yet: the sweep leaves it alone.
    assert queueing.sweep_due_deliveries() == 0


def test_a_receiver_failing_the_whole_schedule_is_disabled_and_the_organization_told(
    api_client, org, on_commit
):
    with receiver(status(500)) as failing, receiver(ok()) as watcher:
        webhook = create_webhook(api_client, failing.url)
        told = create_webhook(api_client, watcher.url, events=["webhook.disabled"])
        watcher.secret = told["secret"]
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        sweep_until_final(on_commit)
        assert len(failing.requests) == 4  # the first attempt and three retries
        [notice] = watcher.wait_for_requests(1)
    row = Delivery.objects.get(webhook__public_id=webhook["id"])
    assert row.status == Status.DEAD and row.next_attempt_at is None
    body = api_client.get(f"/v1/webhooks/{webhook['id']}").json()
    assert body["enabled"] is False and "whole retry schedule" in body["disabledReason"]
    assert notice.verified and notice.json()["event"] == "webhook.disabled"
    assert (
        notice.json()["payload"]["id"] == webhook["id"] and "secret" not in notice.json()["payload"]
    )
    assert api_client.get("/v1/events").json()[-1]["event"] == "webhook.disabled"
    # A disabled webhook gets nothing more.
    api_client.post("/v1/inboxes", {"name": "Another"}, format="json")
    assert Delivery.objects.filter(webhook__public_id=webhook["id"]).count() == 1


def test_a_410_disables_the_webhook_at_once(api_client, on_commit):
    with receiver(status(410)) as hook:
        webhook = create_webhook(api_client, hook.url)
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        sweep_until_final(on_commit)
        assert len(hook.requests) == 1
    row = Delivery.objects.get()
    assert row.status == Status.DEAD and row.last_status_code == 410
    body = api_client.get(f"/v1/webhooks/{webhook['id']}").json()
    assert body["enabled"] is False and "410" in body["disabledReason"]


def test_a_hanging_receiver_is_a_timed_out_attempt_scheduled_again(api_client, settings, on_commit):
    settings.SENDOOK_WEBHOOK_RETRY_SCHEDULE = [3600.0]
    with receiver(hang()) as hook:
        webhook = create_webhook(api_client, hook.url)
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
    row = Delivery.objects.get()
    assert row.status == Status.FAILED and row.next_attempt_at > timezone.now()
    [attempt] = api_client.get(f"/v1/webhooks/{webhook['id']}/attempts").json()
    assert attempt["error"] == "timeout" and "statusCode" not in attempt
    assert 900 <= attempt["durationMs"] < 3000


def test_redirects_are_not_followed(api_client, on_commit):
    with receiver(ok()) as target, receiver(redirect(target_url := "http://127.0.0.1:1/")) as hook:
        del target_url
        webhook = create_webhook(api_client, hook.url)
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        assert target.requests == []
    [attempt] = api_client.get(f"/v1/webhooks/{webhook['id']}/attempts").json()
    assert attempt["statusCode"] == 302 and "redirect not followed" in attempt["error"]
    assert Delivery.objects.get().status == Status.FAILED


def test_after_rotation_deliveries_verify_with_the_new_secret_only(api_client, on_commit):
    with receiver(ok()) as hook:
        webhook = create_webhook(api_client, hook.url)
        rotated = api_client.patch(
            f"/v1/webhooks/{webhook['id']}", {"rotateSecret": True}, format="json"
        ).json()
        hook.secret = webhook["secret"]  # a receiver still holding the old secret refuses it
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "One"}, format="json")
        [refused] = hook.wait_for_requests(1)
        hook.secret = rotated["secret"]
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Two"}, format="json")
        accepted = hook.wait_for_requests(2)[1]
    assert refused.verified is False
    assert accepted.verified is True
    statuses = dict(Delivery.objects.values_list("event__payload__name", "status"))
    assert statuses == {"One": Status.FAILED, "Two": Status.SUCCEEDED}


def test_a_url_that_turns_private_after_create_is_refused_at_delivery(
    api_client, settings, monkeypatch, on_commit
):
    settings.SENDOOK_WEBHOOK_ALLOW_PRIVATE = False
    with receiver(ok()) as hook:
        monkeypatch.setattr(posting, "resolver", lambda host, port: ["93.184.216.34"])
        webhook = create_webhook(api_client, f"http://hooks.example.com:{hook.port}/in")
        # DNS now answers with loopback (rebinding): nothing may be sent there.
        monkeypatch.setattr(posting, "resolver", lambda host, port: ["127.0.0.1"])
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        assert hook.requests == []
    [attempt] = api_client.get(f"/v1/webhooks/{webhook['id']}/attempts").json()
    assert "unsafe url" in attempt["error"] and "loopback" in attempt["error"]
    assert "statusCode" not in attempt


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


def test_a_failing_test_ping_is_reported_and_not_retried(api_client):
    with receiver(status(500, b"nope")) as hook:
        webhook = create_webhook(api_client, hook.url)
        attempt = api_client.post(f"/v1/webhooks/{webhook['id']}/test").json()
    assert attempt["succeeded"] is False and attempt["statusCode"] == 500
    assert attempt["responseExcerpt"] == "nope" and attempt["deliveryStatus"] == "dead"
    assert "nextRetryAt" not in attempt
    assert api_client.get(f"/v1/webhooks/{webhook['id']}").json()["enabled"] is True


def test_a_dead_delivery_can_be_retried_by_delivery_or_event_id(api_client, settings, on_commit):
    settings.SENDOOK_WEBHOOK_RETRY_SCHEDULE = []
    responses = iter([500, 200])
    with receiver(lambda exchange: exchange.send(next(responses))) as hook:
        webhook = create_webhook(api_client, hook.url)
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        row = Delivery.objects.get()
        assert row.status == Status.DEAD
        # One attempt was the whole (empty) schedule: the webhook was disabled; enable it again.
        api_client.patch(f"/v1/webhooks/{webhook['id']}", {"enabled": True}, format="json")
        with on_commit():
            response = api_client.post(
                f"/v1/webhooks/{webhook['id']}/deliveries/{row.event.public_id}/retry"
            )
        assert response.status_code == 202
        assert (
            response.json()["id"] == row.public_id
            and response.json()["eventId"] == row.event.public_id
        )
        hook.wait_for_requests(2)
    row.refresh_from_db()
    assert row.status == Status.SUCCEEDED and row.attempts == 2
    again = api_client.post(f"/v1/webhooks/{webhook['id']}/deliveries/{row.public_id}/retry")
    assert again.status_code == 409 and again.json()["code"] == "delivery_not_retryable"
    missing = api_client.post(f"/v1/webhooks/{webhook['id']}/deliveries/whdlv_nope/retry")
    assert missing.status_code == 404 and missing.json()["code"] == "delivery_not_found"
    deliveries = api_client.get(f"/v1/webhooks/{webhook['id']}/deliveries").json()
    assert [d["status"] for d in deliveries] == ["succeeded"]


def test_retrying_needs_an_enabled_webhook(api_client, org):
    webhook = Webhook.objects.create(
        organization=org,
        url="http://127.0.0.1:9/",
        events=["inbox.created"],
        secret="whsec_" + "A" * 44,
        enabled=False,
    )
    event = record_event(org, event_type=EventType.INBOX_CREATED, payload={})
    row = Delivery.objects.create(event=event, webhook=webhook, status=Status.DEAD, attempts=4)
    response = api_client.post(f"/v1/webhooks/{webhook.public_id}/deliveries/{row.public_id}/retry")
    assert response.status_code == 409 and response.json()["code"] == "webhook_disabled"


def test_a_delivery_run_twice_is_delivered_once(api_client, org):
    with receiver(ok()) as hook:
        create_webhook(api_client, hook.url)
        api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        row = Delivery.objects.get()
        # acks_late can run the same task twice; the second run finds the work done.
        first = delivery.deliver(row.pk, expected_attempts=0)
        second = delivery.deliver(row.pk, expected_attempts=0)
        assert first is not None and second is None
        assert len(hook.requests) == 1
    assert DeliveryAttempt.objects.count() == 1


def test_concurrent_runs_of_one_delivery_post_once(api_client, org, transactional_db, monkeypatch):
    if not connection.features.has_select_for_update:
        pytest.skip("row locks need PostgreSQL; SQLite runs one process and cannot race here")
    monkeypatch.setattr(queueing, "enqueue_deliveries", lambda pairs: None)  # the threads deliver
    with receiver(ok()) as hook:
        create_webhook(api_client, hook.url)
        api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        row = Delivery.objects.get()
        results = []

        def run():
            results.append(delivery.deliver(row.pk, expected_attempts=0))
            connection.close()

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(hook.requests) == 1
    assert sum(result is not None for result in results) == 1
    assert DeliveryAttempt.objects.count() == 1


def test_the_sweep_queues_due_deliveries_once_per_claim(
    api_client, org, settings, monkeypatch, on_commit
):
    settings.SENDOOK_WEBHOOK_CLAIM_SECONDS = 300
    create_webhook(api_client, "http://127.0.0.1:9/")
    api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
    row = Delivery.objects.get()
    assert queueing.sweep_due_deliveries() == 0  # freshly queued: its claim has not lapsed
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    # With a broker, the sweep hands due rows to Celery (recorded here instead of sent).
    settings.CELERY_TASK_ALWAYS_EAGER = False
    queued = []
    monkeypatch.setattr(tasks.deliver_webhook, "delay", lambda *args: queued.append(args))
    with on_commit():
        assert queueing.sweep_due_deliveries() == 1
    with on_commit():
        assert queueing.sweep_due_deliveries() == 0  # claimed for the next 300 s
    assert queued == [(row.pk, 0)]
    row.refresh_from_db()
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=250)


def test_the_body_is_compact_utf8_json(api_client, org, on_commit):
    with receiver(ok()) as hook:
        create_webhook(api_client, hook.url)
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Zoë"}, format="json")
        [request] = hook.wait_for_requests(1)
    assert json.loads(request.body.decode("utf-8"))["payload"]["name"] == "Zoë"


def test_a_response_with_nul_bytes_is_still_recorded(api_client, on_commit):
    with receiver(status(500, b"bad\x00news")) as hook:
        webhook = create_webhook(api_client, hook.url)
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
    [attempt] = api_client.get(f"/v1/webhooks/{webhook['id']}/attempts").json()
    assert attempt["statusCode"] == 500 and attempt["responseExcerpt"] == "bad\ufffdnews"
    assert Delivery.objects.get().status == Status.FAILED


def test_a_test_ping_to_a_receiver_that_never_answers_returns_within_its_deadline(
    api_client, settings
):
    settings.SENDOOK_WEBHOOK_TEST_TIMEOUT = 1  # deliveries keep their 10 s
    with receiver(hang()) as hook:
        webhook = create_webhook(api_client, hook.url)
        started = time.monotonic()
        response = api_client.post(f"/v1/webhooks/{webhook['id']}/test")
        elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < 3
    attempt = response.json()
    assert attempt["succeeded"] is False and attempt["eventType"] == "webhook.test"
    assert attempt["error"] == "timeout" and "statusCode" not in attempt


def test_a_test_ping_whose_host_lookup_hangs_returns_within_its_deadline(
    api_client, settings, monkeypatch
):
    settings.SENDOOK_WEBHOOK_TEST_TIMEOUT = 1
    with receiver(ok()) as hook:
        webhook = create_webhook(api_client, hook.url)
        slow_url = hook.url.replace("127.0.0.1", "slow.example")
        Webhook.objects.filter(public_id=webhook["id"]).update(url=slow_url)

        def slow_resolver(host, port):
            time.sleep(4)
            return ["127.0.0.1"]

        monkeypatch.setattr(posting, "resolver", slow_resolver)
        started = time.monotonic()
        response = api_client.post(f"/v1/webhooks/{webhook['id']}/test")
        elapsed = time.monotonic() - started
        assert hook.requests == []
    assert response.status_code == 200 and elapsed < 3
    attempt = response.json()
    assert attempt["succeeded"] is False
    assert attempt["error"] == "timed out after 1 s resolving the host"
