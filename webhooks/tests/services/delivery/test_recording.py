"""Recording: each attempt stored, the retry schedule, and a webhook disabled when its deliveries
keep failing."""

import pytest
from django.utils import timezone

from webhooks.models import Delivery
from webhooks.services import delivery
from webhooks.services.delivery import queueing
from webhooks.tests.conftest import create_webhook
from webhooks.tests.receivers import fail_first, ok, receiver, status
from webhooks.tests.services.delivery.conftest import make_webhook, sweep_until_final

pytestmark = pytest.mark.django_db

Status = Delivery.Status


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


def test_a_response_with_nul_bytes_is_still_recorded(api_client, on_commit):
    with receiver(status(500, b"bad\x00news")) as hook:
        webhook = create_webhook(api_client, hook.url)
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
    [attempt] = api_client.get(f"/v1/webhooks/{webhook['id']}/attempts").json()
    assert attempt["statusCode"] == 500 and attempt["responseExcerpt"] == "bad\ufffdnews"
    assert Delivery.objects.get().status == Status.FAILED


def test_a_failing_test_ping_is_reported_and_not_retried(api_client):
    with receiver(status(500, b"nope")) as hook:
        webhook = create_webhook(api_client, hook.url)
        attempt = api_client.post(f"/v1/webhooks/{webhook['id']}/test").json()
    assert attempt["succeeded"] is False and attempt["statusCode"] == 500
    assert attempt["responseExcerpt"] == "nope" and attempt["deliveryStatus"] == "dead"
    assert "nextRetryAt" not in attempt
    assert api_client.get(f"/v1/webhooks/{webhook['id']}").json()["enabled"] is True


def test_a_410_mid_batch_disables_the_webhook_and_the_rest_are_not_posted(
    org, settings, queued, record
):
    settings.SENDOOK_WEBHOOK_BATCH_SIZE = 10
    with receiver(status(410)) as hook:
        webhook = make_webhook(org, hook.url)
        record(3)
        first = Delivery.objects.order_by("pk").first()
        delivery.deliver(first.pk, expected_attempts=0)
        assert len(hook.requests) == 1
        # The rest were handed back; their next runs find the webhook disabled.
        for pk, attempts in list(queued):
            delivery.deliver(pk, expected_attempts=attempts)
        assert len(hook.requests) == 1
    webhook.refresh_from_db()
    assert not webhook.enabled and "410" in webhook.disabled_reason
    rows = Delivery.objects.order_by("pk")
    assert [(row.status, row.attempts) for row in rows] == [
        (Status.DEAD, 1), (Status.DEAD, 0), (Status.DEAD, 0),
    ]  # fmt: skip
    assert [row.last_error for row in rows][1:] == ["webhook disabled"] * 2


def test_a_post_is_still_recorded_when_the_database_was_briefly_locked(
    api_client, on_commit, monkeypatch
):
    # SQLite says "locked" at once instead of waiting (the embedded default has no sweep).
    from django.db import OperationalError

    from webhooks.services.delivery import recording

    real, calls = recording._record, []

    def locked_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("database table is locked: webhooks_delivery")
        return real(*args, **kwargs)

    monkeypatch.setattr(recording, "_record", locked_once)
    with receiver(ok()) as hook:
        create_webhook(api_client, hook.url)
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Bot"}, format="json")
        sweep_until_final(on_commit)
        assert len(hook.requests) == 1  # posted once, not again
    row = Delivery.objects.get()
    assert row.status == Status.SUCCEEDED and row.attempts == 1
    assert len(calls) >= 2
