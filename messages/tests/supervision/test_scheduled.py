"""Scheduled sends: sendAt and the inbox's holdSeconds; the database-driven sweep."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messages import tasks
from messages.models import Message
from messages.services import approvals
from sendook.events.models import Event

pytestmark = pytest.mark.django_db

BODY = {"to": ["ada@example.org"], "subject": "Hello", "text": "Hi Ada"}


def _iso(delta):
    return (timezone.now() + delta).isoformat().replace("+00:00", "Z")


def _due(message_id):
    Message.objects.filter(public_id=message_id).update(
        send_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_send_at_in_the_future_is_scheduled_and_the_sweep_sends_it_when_due(
    send, url, sandbox, django_capture_on_commit_callbacks
):
    response = send(url("/send"), {**BODY, "sendAt": _iso(timedelta(hours=1))})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "scheduled" and body["sendAt"].endswith("Z")
    assert Event.objects.filter(type="message.scheduled").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.release_scheduled_messages() == 0  # not due yet
    assert sandbox() == []
    _due(body["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.release_scheduled_messages() == 1
    assert len(sandbox()) == 1
    assert Message.objects.get(public_id=body["id"]).status == "sent"


def test_the_inbox_hold_window_schedules_every_send_and_cancel_stops_it(
    policy, send, url, sandbox, django_capture_on_commit_callbacks
):
    policy(sendPolicy={"holdSeconds": 10})
    before = timezone.now()
    body = send(url("/send"), BODY).json()
    assert body["status"] == "scheduled"
    stored = Message.objects.get(public_id=body["id"])
    assert timedelta(seconds=9) < stored.send_at - before < timedelta(seconds=11)
    cancelled = send(url(f"/{body['id']}/cancel"), {})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    _due(body["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.release_scheduled_messages() == 0
    assert sandbox() == []


@pytest.mark.parametrize(
    "send_at",
    [
        "2020-01-01T00:00:00Z",
        "2099-01-01T00:00:00Z",
        "tomorrow",
        12345,
        "",
    ],
)
def test_a_bad_send_at_is_refused_naming_send_at_and_nothing_is_stored(send, url, send_at):
    response = send(url("/send"), {**BODY, "sendAt": send_at})
    assert response.status_code == 400 and "sendAt" in response.json()["fields"]
    assert Message.objects.count() == 0


def test_send_at_more_than_thirty_days_ahead_is_refused(send, url):
    response = send(url("/send"), {**BODY, "sendAt": _iso(timedelta(days=31))})
    assert response.status_code == 400 and "sendAt" in response.json()["fields"]
    ok = send(url("/send"), {**BODY, "sendAt": _iso(timedelta(days=29))})
    assert ok.json()["status"] == "scheduled"


def test_a_scheduled_send_a_policy_holds_is_held_at_accept_and_waits_for_its_time_after_approval(
    policy, send, url, sandbox, django_capture_on_commit_callbacks
):
    policy(sendPolicy={"approval": "always"})
    body = send(url("/send"), {**BODY, "sendAt": _iso(timedelta(hours=1))}).json()
    assert body["status"] == "pending_approval" and "sendAt" in body
    approved = send(url(f"/{body['id']}/approve"), {}).json()
    assert approved["status"] == "scheduled"
    assert sandbox() == []
    _due(body["id"])
    with django_capture_on_commit_callbacks(execute=True):
        tasks.release_scheduled_messages()
    assert len(sandbox()) == 1


def test_a_scheduled_message_due_while_sending_is_paused_is_held_with_the_pause_reason(
    api_client, send, url, sandbox, django_capture_on_commit_callbacks
):
    body = send(url("/send"), {**BODY, "sendAt": _iso(timedelta(hours=1))}).json()
    api_client.patch("/v1/organization", {"sendingPaused": True}, format="json")
    _due(body["id"])
    with django_capture_on_commit_callbacks(execute=True):
        tasks.release_scheduled_messages()
    stored = Message.objects.get(public_id=body["id"])
    assert stored.status == "pending_approval" and stored.hold["reason"] == "organization_paused"
    assert sandbox() == []


def test_a_release_whose_enqueue_was_lost_is_picked_up_by_the_stuck_message_sweep(
    send, url, sandbox, monkeypatch, settings, django_capture_on_commit_callbacks
):
    # A worker killed between committing the release and enqueueing: the message is queued
    # in the database, and the existing stuck-message sweep hands it over.
    from messages.services import handoff

    body = send(url("/send"), {**BODY, "sendAt": _iso(timedelta(hours=1))}).json()
    _due(body["id"])
    monkeypatch.setattr(handoff, "_enqueue", lambda pk: None)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.release_scheduled_messages()
    assert Message.objects.get(public_id=body["id"]).status == "queued" and sandbox() == []
    settings.SENDOOK_REQUEUE_AFTER_SECONDS = 0
    Message.objects.filter(public_id=body["id"]).update(
        updated_at=timezone.now() - timedelta(seconds=5)
    )
    tasks.requeue_stuck_messages()
    assert len(sandbox()) == 1


def test_the_sweep_is_in_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["release-scheduled-messages"]
    assert entry["task"] == "messages.tasks.release_scheduled_messages"
