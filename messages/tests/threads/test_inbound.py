"""New mail joining a closed or snoozed thread reopens it (real raw MIME through the receive
pipeline); the assignee keeps it, so it is back in their Mine."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messages import selectors
from messages.models import Message, Thread, ThreadActivity
from messages.services import triage
from messages.services.activity import thread_activity
from messages.services.provenance import SYSTEM
from messages.tests.inbound.mail import build_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def receive(django_capture_on_commit_callbacks):
    from messages.services.receive import receive_raw_email

    def _receive(raw, *, to="support@sendook.localhost"):
        with django_capture_on_commit_callbacks(execute=True):
            record = receive_raw_email(raw, recipients=[to], source="smtp")
        record.refresh_from_db()
        return record

    return _receive


@pytest.fixture
def first(inbox, receive):
    receive(build_email(subject="Broken invoice", message_id="<q1@example.org>"))
    return Message.objects.get()


def _reply(text="Any news?"):
    return build_email(
        subject="Re: Broken invoice",
        text=text,
        in_reply_to="<q1@example.org>",
        references="<q1@example.org>",
    )


@pytest.mark.parametrize("status", ["closed", "snoozed"])
def test_inbound_mail_reopens_a_closed_or_snoozed_thread(first, dana, receive, events, status):
    until = timezone.now() + timedelta(days=1) if status == "snoozed" else triage.UNSET
    triage.update_thread(
        first.thread, actor=SYSTEM, status=status, snoozed_until=until, assignee=dana
    )
    record = receive(_reply())
    thread = Thread.objects.get(pk=first.thread_id)
    assert thread.message_count == 2
    assert (thread.status, thread.snoozed_until, thread.assignee_member) == ("open", None, dana)
    last = events("thread.updated")[-1]
    assert last["changes"]["status"] == {"from": status, "to": "open"}
    inbound = {"type": "inbound", "id": record.public_id, "name": "smtp"}
    assert last["actor"] == inbound
    assert ThreadActivity.objects.filter(thread=thread).order_by("id").last().actor == inbound
    mine = selectors.list_threads(
        thread.organization, **selectors.view_filters("mine", member=dana)
    )
    assert [row.pk for row in mine] == [thread.pk]
    timeline = thread_activity(thread)
    assert [e["type"] for e in timeline][-2:] == ["message", "status"]
    assert timeline[-2]["actor"] == inbound


def test_inbound_mail_leaves_an_open_or_pending_thread_as_it_is(first, receive, events):
    triage.update_thread(first.thread, actor=SYSTEM, status="pending")
    receive(_reply())
    assert Thread.objects.get(pk=first.thread_id).status == "pending"
    assert len(events("thread.updated")) == 1  # only the change to pending


def test_reopening_costs_nothing_when_the_thread_is_open(
    first, receive, django_assert_max_num_queries
):
    from messages.services.receive import process_inbound_email, receive_raw_email

    record = receive_raw_email(_reply(), recipients=["support@sendook.localhost"], source="smtp")
    # As before shared threads: the pipeline's budget (test_query_budget.py) is unchanged.
    with django_assert_max_num_queries(12):
        process_inbound_email(record)
    assert not ThreadActivity.objects.exists()
