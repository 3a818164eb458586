"""Races on drafts, on PostgreSQL with threads: a draft is sent once however many sends,
edits and deletes meet it at the same moment."""

import threading

import pytest
from django.db import connection, connections

from inboxes.tests.factories import InboxFactory, OrganizationFactory
from messages.exceptions import DraftNotEditable, DraftNotFound
from messages.models import Message
from messages.services import drafts, handoff
from messages.services.send import Sender

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks and real concurrency: PostgreSQL"
    ),
]

FIELDS = {"to": ["ada@example.org"], "subject": "Hello", "text": "Draft"}


@pytest.fixture
def enqueued(monkeypatch):
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
        except (DraftNotEditable, DraftNotFound, Message.DoesNotExist) as error:
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(callables)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def _draft(**inbox_fields):
    inbox = InboxFactory(organization=OrganizationFactory(), **inbox_fields)
    return drafts.create_draft(inbox, fields=FIELDS)


def _fresh(message):
    return Message.objects.select_related("organization", "inbox", "thread").get(pk=message.pk)


def test_two_concurrent_sends_of_one_draft_send_it_once(enqueued):
    for _ in range(5):
        draft = _draft()
        outcomes = _race(
            lambda: drafts.send_draft(_fresh(draft), sender=Sender()),
            lambda: drafts.send_draft(_fresh(draft), sender=Sender()),
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["DraftNotEditable", "Message"]
        assert _fresh(draft).status == "queued"
        assert _fresh(draft).thread.message_count == 1
    assert len(enqueued) == len(set(enqueued)) == 5


def test_a_send_racing_an_edit_sends_what_one_of_them_left(enqueued):
    for _ in range(5):
        draft = _draft()
        outcomes = _race(
            lambda: drafts.send_draft(_fresh(draft), sender=Sender()),
            lambda: drafts.update_draft(_fresh(draft), fields={"text": "Edited"}),
        )
        sent = _fresh(draft)
        assert sent.status == "queued" and enqueued.count(sent.pk) == 1
        edit = outcomes[1]
        # The edit either went in before the send (and was sent) or was refused after it.
        assert isinstance(edit, DraftNotEditable) or sent.text == "Edited"


def test_a_send_racing_a_delete_either_sends_or_deletes(enqueued):
    for _ in range(5):
        draft = _draft()
        _race(
            lambda: drafts.send_draft(_fresh(draft), sender=Sender()),
            lambda: drafts.delete_draft(_fresh(draft)),
        )
        row = Message.objects.filter(pk=draft.pk).first()
        assert (row is not None and row.status == "queued") == (draft.pk in enqueued)
