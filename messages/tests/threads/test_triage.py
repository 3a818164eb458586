"""Thread status, snooze and assignment through messages.services.triage: checked before
anything changes, recorded as activity and one thread.updated event saying what changed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inboxes.api_keys import revoke_api_key
from inboxes.services import create_api_key
from messages.exceptions import AssigneeChanged, InvalidAssignee, ThreadNotFound
from messages.models import Message, Thread, ThreadActivity
from messages.services import triage
from messages.services.provenance import SYSTEM, user_actor
from messages.tests.mail_factories import MessageFactory, ThreadFactory
from sendook.exceptions import ValidationFailed

pytestmark = pytest.mark.django_db


def _fresh(thread):
    return Thread.objects.get(pk=thread.pk)


def test_closing_a_thread_records_activity_and_one_event_with_what_changed(
    conversation, dana, events
):
    actor = user_actor(dana.user)
    thread = triage.update_thread(conversation, actor=actor, status="closed")
    assert thread.status == "closed" and _fresh(conversation).status == "closed"
    (row,) = ThreadActivity.objects.filter(thread=conversation)
    assert row.kind == "status" and row.actor == actor
    assert row.changes == {"status": {"from": "open", "to": "closed"}}
    (payload,) = events("thread.updated")
    assert payload["id"] == conversation.public_id and payload["status"] == "closed"
    assert payload["changes"] == {"status": {"from": "open", "to": "closed"}}
    assert payload["actor"] == actor
    assert len(payload["messages"]) == 2 and payload["lastMessageId"] == payload["messages"][-1]


def test_a_change_to_what_the_thread_already_is_records_nothing(conversation, events):
    triage.update_thread(conversation, actor=SYSTEM, status="open", assignee=None)
    assert not ThreadActivity.objects.exists() and events("thread.updated") == []


def test_an_unknown_status_is_refused_naming_the_field(conversation):
    with pytest.raises(ValidationFailed) as caught:
        triage.update_thread(conversation, actor=SYSTEM, status="archived")
    assert list(caught.value.fields) == ["status"]
    assert "archived" in caught.value.message
    assert _fresh(conversation).status == "open"


def test_snoozing_in_the_past_is_refused_naming_snoozed_until(conversation):
    with pytest.raises(ValidationFailed) as caught:
        triage.update_thread(
            conversation,
            actor=SYSTEM,
            status="snoozed",
            snoozed_until=timezone.now() - timedelta(minutes=1),
        )
    assert list(caught.value.fields) == ["snoozedUntil"]
    assert _fresh(conversation).status == "open"


def test_snoozing_needs_a_time(conversation):
    with pytest.raises(ValidationFailed) as caught:
        triage.update_thread(conversation, actor=SYSTEM, status="snoozed")
    assert list(caught.value.fields) == ["snoozedUntil"]


def test_a_snooze_time_alone_snoozes_and_leaving_snoozed_clears_it(conversation, events):
    until = timezone.now() + timedelta(hours=2)
    thread = triage.update_thread(conversation, actor=SYSTEM, snoozed_until=until)
    assert (thread.status, thread.snoozed_until) == ("snoozed", until)
    thread = triage.update_thread(thread, actor=SYSTEM, status="pending")
    assert (thread.status, thread.snoozed_until) == ("pending", None)
    changes = events("thread.updated")[-1]["changes"]
    assert changes["status"] == {"from": "snoozed", "to": "pending"}
    assert changes["snoozedUntil"]["to"] is None and changes["snoozedUntil"]["from"].endswith("Z")


def test_a_snooze_time_with_another_status_is_refused(conversation):
    with pytest.raises(ValidationFailed) as caught:
        triage.update_thread(
            conversation,
            actor=SYSTEM,
            status="closed",
            snoozed_until=timezone.now() + timedelta(hours=1),
        )
    assert list(caught.value.fields) == ["snoozedUntil"]


def test_assigning_to_a_member_then_to_an_agent_key(conversation, dana, agent, events):
    thread = triage.update_thread(conversation, actor=SYSTEM, assignee=dana)
    assert thread.assignee_member == dana and thread.assignee_key is None
    thread = triage.update_thread(thread, actor=SYSTEM, assignee=agent)
    assert thread.assignee_member is None and thread.assignee_key == agent
    first, second = events("thread.updated")
    assert first["assignee"] == {"type": "user", "id": dana.public_id, "name": "Dana Scully"}
    assert first["changes"] == {
        "assignee": {
            "from": None,
            "to": {"type": "user", "id": dana.public_id, "name": "Dana Scully"},
        }
    }
    assert second["changes"]["assignee"]["to"] == {
        "type": "api_key",
        "id": agent.public_id,
        "name": "Support bot",
    }
    kinds = list(ThreadActivity.objects.values_list("kind", flat=True).order_by("id"))
    assert kinds == ["assignment", "assignment"]


def test_resolving_assignees_refuses_other_organizations_unknown_ids_and_revoked_keys(
    org, outsider, agent
):
    for ref in (
        {"type": "user", "id": outsider.public_id},
        {"type": "user", "id": "user_nope"},
        {"type": "api_key", "id": "key_nope"},
        {"type": "robot", "id": "x"},
        "dana",
    ):
        with pytest.raises(InvalidAssignee) as caught:
            triage.resolve_assignee(org, ref)
        assert caught.value.code == "invalid_assignee" and caught.value.status_code == 400
        assert list(caught.value.fields) == ["assignee"]
    revoke_api_key(agent)
    with pytest.raises(InvalidAssignee, match="revoked"):
        triage.resolve_assignee(org, {"type": "api_key", "id": agent.public_id})
    assert triage.resolve_assignee(org, None) is None


def test_a_model_assignee_of_another_organization_is_refused(conversation, outsider):
    with pytest.raises(InvalidAssignee):
        triage.update_thread(conversation, actor=SYSTEM, assignee=outsider)
    assert _fresh(conversation).assignee_member is None


def test_a_key_limited_to_other_inboxes_cannot_be_assigned(conversation, org):
    from inboxes.tests.factories import InboxFactory

    elsewhere = InboxFactory(organization=org)
    key = create_api_key(org, name="narrow", inbox_ids=[elsewhere.public_id]).api_key
    with pytest.raises(InvalidAssignee, match="cannot see inbox"):
        triage.update_thread(conversation, actor=SYSTEM, assignee=key)


def test_expected_assignee_that_differs_is_a_409_naming_the_current_one(conversation, dana, fox):
    triage.update_thread(conversation, actor=SYSTEM, assignee=dana)
    with pytest.raises(AssigneeChanged) as caught:
        triage.update_thread(
            conversation, actor=SYSTEM, assignee=fox, expected_assignee=None, status="closed"
        )
    assert caught.value.status_code == 409 and caught.value.code == "assignee_changed"
    assert caught.value.extra["assignee"]["id"] == dana.public_id
    fresh = _fresh(conversation)
    assert fresh.assignee_member == dana and fresh.status == "open"
    # The one who saw Dana may reassign.
    thread = triage.update_thread(conversation, actor=SYSTEM, assignee=fox, expected_assignee=dana)
    assert thread.assignee_member == fox


def test_labels_change_on_every_message_and_the_thread(conversation, events):
    thread = triage.update_thread(
        conversation, actor=SYSTEM, add_labels=["urgent"], remove_labels=["billing"]
    )
    assert thread.labels == ["urgent"]
    assert [m.labels for m in Message.objects.filter(thread=conversation)] == [
        ["urgent"],
        ["urgent"],
    ]
    assert events("thread.updated")[-1]["changes"] == {
        "labels": {"added": ["urgent"], "removed": ["billing"]}
    }


def test_a_bad_label_is_refused_before_anything_changes(conversation):
    with pytest.raises(ValidationFailed) as caught:
        triage.update_thread(conversation, actor=SYSTEM, status="closed", add_labels=["x" * 101])
    assert list(caught.value.fields) == ["addLabels"]
    assert _fresh(conversation).status == "open"


def test_bulk_changes_every_thread_or_none(org, inbox, other_inbox, dana, events):
    threads = [MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox)).thread for _ in "ab"]
    foreign = MessageFactory(inbox=other_inbox, thread=ThreadFactory(inbox=other_inbox)).thread
    ids = [thread.public_id for thread in threads]
    with pytest.raises(ThreadNotFound) as caught:
        triage.update_threads(org, [*ids, foreign.public_id], actor=SYSTEM, status="closed")
    assert caught.value.extra["threadIds"] == [foreign.public_id]
    assert foreign.public_id in caught.value.message
    assert set(Thread.objects.values_list("status", flat=True)) == {"open"}
    assert events("thread.updated") == []

    updated = triage.update_threads(org, ids, actor=SYSTEM, status="closed", assignee=dana)
    assert [thread.public_id for thread in updated] == ids
    assert {t.status for t in Thread.objects.filter(public_id__in=ids)} == {"closed"}
    assert len(events("thread.updated")) == 2


def test_bulk_with_one_thread_failing_its_precondition_changes_none(org, inbox, dana, fox):
    first, second = (
        MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox)).thread for _ in "ab"
    )
    triage.update_thread(second, actor=SYSTEM, assignee=fox)
    with pytest.raises(AssigneeChanged):
        triage.update_threads(
            org,
            [first.public_id, second.public_id],
            actor=SYSTEM,
            assignee=dana,
            expected_assignee=None,
        )
    assert _fresh(first).assignee_member is None and _fresh(second).assignee_member == fox


def test_bulk_limited_to_some_inboxes_does_not_find_the_others(org, inbox):
    from inboxes.tests.factories import InboxFactory

    besides = InboxFactory(organization=org)
    thread = MessageFactory(inbox=besides, thread=ThreadFactory(inbox=besides)).thread
    with pytest.raises(ThreadNotFound):
        triage.update_threads(
            org, [thread.public_id], actor=SYSTEM, inbox_ids=[inbox.public_id], status="closed"
        )


def test_the_sweep_wakes_due_snoozes_only(inbox, events):
    now = timezone.now()
    due, later = (
        MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox)).thread for _ in "ab"
    )
    Thread.objects.filter(pk=due.pk).update(
        status="snoozed", snoozed_until=now - timedelta(seconds=1)
    )
    Thread.objects.filter(pk=later.pk).update(
        status="snoozed", snoozed_until=now + timedelta(hours=1)
    )
    assert triage.wake_snoozed_threads() == 1
    assert (_fresh(due).status, _fresh(due).snoozed_until) == ("open", None)
    assert _fresh(later).status == "snoozed"
    (payload,) = events("thread.updated")
    assert payload["actor"] == SYSTEM and payload["changes"]["status"]["from"] == "snoozed"
    assert triage.wake_snoozed_threads() == 0
    assert triage.wake_snoozed_threads(now + timedelta(hours=2)) == 1


def test_the_sweep_is_on_beats_schedule_and_its_task_wakes_due_threads(settings, inbox):
    from messages import tasks
    from sendook.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["wake-snoozed-threads"]
    assert entry["task"] == "messages.tasks.wake_snoozed_threads"
    assert entry["task"] in app.tasks
    thread = MessageFactory(inbox=inbox, thread=ThreadFactory(inbox=inbox)).thread
    Thread.objects.filter(pk=thread.pk).update(
        status="snoozed", snoozed_until=timezone.now() - timedelta(minutes=5)
    )
    assert tasks.wake_snoozed_threads.apply().get() == 1
    assert _fresh(thread).status == "open"
