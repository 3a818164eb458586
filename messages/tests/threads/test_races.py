"""Races on PostgreSQL with two real connections: two people assigning the same thread, or
replying to it, at the same moment: exactly one wins, the other is told."""

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from inboxes.services import create_api_key
from inboxes.tests.factories import InboxFactory, MembershipFactory, OrganizationFactory
from messages.exceptions import AssigneeChanged, ThreadChanged
from messages.models import Message, Thread, ThreadActivity
from messages.services import handoff, send, triage
from messages.services.provenance import SYSTEM
from messages.tests.mail_factories import MessageFactory, ThreadFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks and real concurrency: PostgreSQL"
    ),
]


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch, settings):
    monkeypatch.setattr(handoff, "_enqueue", lambda pk: None)
    settings.SENDOOK_API_RATE_LIMIT = "100000/m"
    settings.SENDOOK_SEND_RATE_LIMIT = "100000/h"


def _race(*callables):
    barrier = threading.Barrier(len(callables))
    outcomes = [None] * len(callables)

    def run(index, work):
        try:
            barrier.wait()
            outcomes[index] = work()
        except (AssigneeChanged, ThreadChanged) as error:
            outcomes[index] = error
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(callables)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    return outcomes


@pytest.fixture
def world():
    org = OrganizationFactory()
    inbox = InboxFactory(organization=org)
    thread = ThreadFactory(inbox=inbox)
    MessageFactory(inbox=inbox, thread=thread)
    return {
        "org": org,
        "inbox": inbox,
        "thread": Thread.objects.get(pk=thread.pk),
        "ann": MembershipFactory(organization=org),
        "bob": MembershipFactory(organization=org),
    }


def test_two_assigns_with_the_same_expectation_one_wins_the_other_is_told(world):
    thread, ann, bob = world["thread"], world["ann"], world["bob"]
    for _ in range(3):
        Thread.objects.filter(pk=thread.pk).update(assignee_member=None)
        outcomes = _race(
            lambda: triage.update_thread(
                Thread.objects.get(pk=thread.pk), actor=SYSTEM, assignee=ann, expected_assignee=None
            ),
            lambda: triage.update_thread(
                Thread.objects.get(pk=thread.pk), actor=SYSTEM, assignee=bob, expected_assignee=None
            ),
        )
        winners = [o for o in outcomes if isinstance(o, Thread)]
        losers = [o for o in outcomes if isinstance(o, AssigneeChanged)]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        current = Thread.objects.get(pk=thread.pk).assignee_member
        assert current == winners[0].assignee_member
        assert losers[0].assignee["id"] == current.public_id


def test_two_api_assigns_at_once_answer_one_200_and_one_409(world):
    org, thread, ann, bob = world["org"], world["thread"], world["ann"], world["bob"]
    url = f"/v1/inboxes/{world['inbox'].public_id}/threads/{thread.public_id}"
    secrets = [create_api_key(org, name=f"k{n}").secret for n in range(2)]

    def patch(secret, member):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client.patch(
            url,
            {"assignee": {"type": "user", "id": member.public_id}, "expectedAssignee": None},
            format="json",
        )

    responses = _race(lambda: patch(secrets[0], ann), lambda: patch(secrets[1], bob))
    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = next(r for r in responses if r.status_code == 409).json()
    assert loser["code"] == "assignee_changed"
    assert loser["assignee"]["id"] == Thread.objects.get(pk=thread.pk).assignee_member.public_id
    assert ThreadActivity.objects.filter(thread=thread, kind="assignment").count() == 1


def test_two_replies_with_the_same_expected_last_message_one_is_stored(world):
    thread = world["thread"]
    parent = thread.messages.get()
    for round_ in range(3):
        last = Message.objects.filter(thread=thread).order_by("id").last()

        def reply(text):
            fresh = Message.objects.select_related("inbox", "inbox__organization").get(pk=parent.pk)
            return send.reply_to_message(fresh, text=text, expected_last_message_id=last.public_id)

        before = Message.objects.filter(thread=thread).count()
        outcomes = _race(lambda: reply(f"a{round_}"), lambda: reply(f"b{round_}"))
        stored = [o for o in outcomes if isinstance(o, Message)]
        refused = [o for o in outcomes if isinstance(o, ThreadChanged)]
        assert len(stored) == 1 and len(refused) == 1, outcomes
        assert refused[0].new_message_ids == [stored[0].public_id]
        assert Message.objects.filter(thread=thread).count() == before + 1


def test_two_api_replies_at_once_answer_one_202_and_one_409(world):
    org, thread = world["org"], world["thread"]
    parent = thread.messages.get()
    url = f"/v1/inboxes/{world['inbox'].public_id}/messages/{parent.public_id}/reply"
    secrets = [create_api_key(org, name=f"k{n}").secret for n in range(2)]

    def post(secret, text):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client.post(
            url, {"text": text}, format="json", HTTP_IF_MATCH=f'"{parent.public_id}"'
        )

    responses = _race(lambda: post(secrets[0], "one"), lambda: post(secrets[1], "two"))
    assert sorted(r.status_code for r in responses) == [202, 409]
    accepted = next(r for r in responses if r.status_code == 202).json()
    refused = next(r for r in responses if r.status_code == 409).json()
    assert refused["code"] == "thread_changed" and refused["newMessageIds"] == [accepted["id"]]
    outbound = Message.objects.filter(thread=thread, direction="outbound")
    assert [m.public_id for m in outbound] == [accepted["id"]]
