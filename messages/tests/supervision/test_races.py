"""Races on PostgreSQL, with threads: each held or scheduled message moves once and is
handed to the worker once, whoever else tries at the same moment."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from inboxes.tests.factories import InboxFactory, OrganizationFactory
from messages.exceptions import MessageNotHeld
from messages.models import Message
from messages.services import approvals, handoff
from messages.services.provenance import SYSTEM
from messages.services.send import send_message

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks and real concurrency: PostgreSQL"
    ),
]


@pytest.fixture
def enqueued(monkeypatch):
    """The messages handed to the worker, in order (the worker itself is not run)."""
    handed = []
    monkeypatch.setattr(handoff, "_enqueue", handed.append)
    return handed


def _race(*callables):
    barrier = threading.Barrier(len(callables))
    outcomes = [None] * len(callables)

    def run(index, work):
        try:
            barrier.wait()
            outcomes[index] = work()
        except MessageNotHeld as error:
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(callables)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def _held(count=1):
    inbox = InboxFactory(organization=OrganizationFactory(), send_approval="always")
    return [
        send_message(inbox, to=["ada@example.org"], subject=f"s{i}", text="t") for i in range(count)
    ]


def _fresh(message):
    return Message.objects.select_related("organization", "inbox", "thread").get(pk=message.pk)


def test_two_approvals_at_once_hand_the_message_to_the_worker_once(enqueued):
    (message,) = _held()
    outcomes = _race(
        lambda: approvals.approve_message(_fresh(message), by=SYSTEM, text="first"),
        lambda: approvals.approve_message(_fresh(message), by=SYSTEM, text="second"),
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["Message", "MessageNotHeld"]
    assert enqueued == [message.pk]
    winner = next(o for o in outcomes if isinstance(o, Message))
    assert _fresh(message).text == winner.text


def test_approving_while_cancelling_either_sends_or_cancels_never_both(enqueued):
    for message in _held(5):
        outcomes = _race(
            lambda: approvals.approve_message(_fresh(message), by=SYSTEM),
            lambda: approvals.cancel_message(_fresh(message), by=SYSTEM),
        )
        assert sum(isinstance(o, MessageNotHeld) for o in outcomes) == 1
        status = _fresh(message).status
        assert status in ("queued", "cancelled")
        assert (message.pk in enqueued) == (status == "queued")
    assert len(enqueued) == len(set(enqueued))


def test_two_sweeps_in_two_workers_release_each_due_message_once(enqueued):
    inbox = InboxFactory(organization=OrganizationFactory(), hold_seconds=60)
    messages = [send_message(inbox, to=["a@example.org"], subject="s", text="t") for _ in range(40)]
    Message.objects.filter(pk__in=[m.pk for m in messages]).update(
        send_at=timezone.now() - timedelta(seconds=1)
    )
    counts = _race(
        lambda: approvals.release_scheduled_messages(limit=25),
        lambda: approvals.release_scheduled_messages(limit=25),
    )
    assert sorted(enqueued) == sorted(m.pk for m in messages)
    # A run that found every row locked by the other returns 0 and the next run takes the rest.
    remaining = approvals.release_scheduled_messages()
    assert sum(counts) + remaining == 40
    assert Message.objects.filter(status="queued").count() == 40


def test_a_cancel_racing_the_sweep_either_cancels_or_finds_it_queued(enqueued):
    inbox = InboxFactory(organization=OrganizationFactory(), hold_seconds=60)
    for _ in range(5):
        message = send_message(inbox, to=["a@example.org"], subject="s", text="t")
        Message.objects.filter(pk=message.pk).update(send_at=timezone.now())
        _race(
            lambda: approvals.release_scheduled_messages(),
            lambda: approvals.cancel_message(_fresh(message), by=SYSTEM),
        )
        status = _fresh(message).status
        assert status in ("queued", "cancelled")
        assert (message.pk in enqueued) == (status == "queued")
