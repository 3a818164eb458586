"""Posting: what goes on the wire (signed, compact UTF-8 JSON, to a vetted address only), and the
deadlines that bound each post."""

import json
import time

import pytest
from django.utils import timezone

from webhooks.models import Delivery, Webhook
from webhooks.services.delivery import posting
from webhooks.tests.conftest import create_webhook
from webhooks.tests.receivers import hang, ok, receiver, redirect

pytestmark = pytest.mark.django_db

Status = Delivery.Status


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


def test_the_body_is_compact_utf8_json(api_client, org, on_commit):
    with receiver(ok()) as hook:
        create_webhook(api_client, hook.url)
        with on_commit():
            api_client.post("/v1/inboxes", {"name": "Zoë"}, format="json")
        [request] = hook.wait_for_requests(1)
    assert json.loads(request.body.decode("utf-8"))["payload"]["name"] == "Zoë"


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
