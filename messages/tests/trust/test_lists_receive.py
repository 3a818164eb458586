"""Receive block lists end to end: real raw MIME through the inbound pipeline. Mail from a
blocked sender is stored (raw kept) as `blocked`, announced as message.blocked (never
message.received), read, out of the default lists; a release delivers it once."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from inboxes.tests.factories import InboxFactory
from messages.exceptions import MessageNotBlocked
from messages.models import ListEntry, Message, Thread, ThreadStatus
from messages.selectors import list_inboxes_with_unread, search_messages
from messages.services import lists
from messages.services.provenance import SYSTEM
from messages.tests.inbound.mail import build_email
from sendook.events.models import Event
from webhooks import signing
from webhooks.models import SUBSCRIBABLE_EVENT_TYPES, Delivery, Webhook
from webhooks.services.delivery import posting, queueing
from webhooks.tests.receivers import ok, receiver

pytestmark = pytest.mark.django_db

Status = Message.Status
ME = {"type": "user", "id": "1", "name": "Ann"}


@pytest.fixture(autouse=True)
def _generous_rate_limit(settings):
    settings.SENDOOK_API_RATE_LIMIT = "100000/m"


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org, email="support@sendook.localhost", name="Support")


@pytest.fixture
def receive(django_capture_on_commit_callbacks):
    from messages.services.receive import receive_raw_email

    def _receive(raw, *, to=("support@sendook.localhost",), source="smtp"):
        with django_capture_on_commit_callbacks(execute=True):
            record = receive_raw_email(raw, recipients=list(to), source=source)
        record.refresh_from_db()
        return record

    return _receive


@pytest.fixture
def webhook(org, monkeypatch):
    """A webhook for every event; its delivery rows say what it was sent (not posted here)."""
    monkeypatch.setattr(queueing, "run_in_background", lambda function, *args: None)
    return Webhook.objects.create(
        organization=org,
        url="http://127.0.0.1:9/h",
        events=list(SUBSCRIBABLE_EVENT_TYPES),
        secret="whsec_" + "A" * 32,
    )


def _block(org, value, *, inbox=None, kind="block"):
    return lists.add_entry(
        org, inbox=inbox, direction="receive", kind=kind, value=value, actor=SYSTEM
    )


def _deliveries(webhook) -> list[str]:
    return list(
        Delivery.objects.filter(webhook=webhook)
        .order_by("id")
        .values_list("event__type", flat=True)
    )


def test_mail_from_a_blocked_subdomain_is_stored_blocked_with_its_raw_and_not_received(
    org, inbox, receive, webhook, api_client
):
    _block(org, "spam.example")
    raw = build_email(sender="Bulk <offers@mail.spam.example>", subject="Cheap pills")
    record = receive(raw)

    message = Message.objects.get()
    assert message.status == Status.BLOCKED and record.status == "processed"
    assert "spam.example" in message.status_reason
    with message.raw.open("rb") as handle:
        assert handle.read() == raw  # nothing lost
    assert message.is_read is True
    assert _deliveries(webhook) == ["message.blocked"]
    assert list(Event.objects.values_list("type", flat=True)) == ["message.blocked"]
    # Not counted unread, not in the thread list, not found by search.
    assert [box.unread_threads for box in list_inboxes_with_unread(org)] == [0]
    base = f"/v1/inboxes/{inbox.public_id}"
    assert api_client.get(f"{base}/messages").json() == []
    assert api_client.get(f"{base}/threads").json() == []
    assert not search_messages(org, "pills").exists()
    # Reachable on purpose.
    response = api_client.get(f"{base}/messages", {"include": "blocked"})
    assert response.status_code == 200, response.content
    [listed] = response.json()
    assert listed["id"] == message.public_id and listed["status"] == "blocked"
    [thread] = api_client.get(f"{base}/threads", {"include": "blocked"}).json()
    assert thread["id"] == message.thread.public_id
    assert api_client.get(f"{base}/messages/{message.public_id}").json()["status"] == "blocked"
    # The thread's summary does not show what the blocked sender wrote.
    assert message.thread.message_count == 0 and message.thread.preview == ""


def test_mail_from_elsewhere_is_received_as_usual(org, inbox, receive, webhook):
    _block(org, "spam.example")
    receive(build_email(sender="ada@notspam.example"))
    receive(build_email(sender="bob@spam.example.org"))
    assert set(Message.objects.values_list("status", flat=True)) == {Status.RECEIVED}
    assert _deliveries(webhook) == ["message.received", "message.received"]


def test_an_address_entry_decides_before_its_domain_and_an_inbox_entry_only_for_that_inbox(
    org, inbox, receive
):
    other = InboxFactory(organization=org, email="sales@sendook.localhost")
    _block(org, "partner.example")
    _block(org, "ceo@partner.example", inbox=inbox, kind="allow")
    to = ("support@sendook.localhost", "sales@sendook.localhost")
    receive(build_email(sender="ceo@partner.example", to=", ".join(to)), to=to)
    statuses = dict(Message.objects.values_list("inbox__email", "status"))
    assert statuses == {inbox.email: Status.RECEIVED, other.email: Status.BLOCKED}
    assert lists.listed(org, inbox=inbox, direction="receive", address="CEO@Partner.example") == (
        "allow"
    )
    assert lists.listed(org, inbox=other, direction="receive", address="ceo@partner.example") == (
        "block"
    )


def test_release_delivers_the_message_once_through_the_received_pipeline(
    org, inbox, receive, webhook, api_client
):
    _block(org, "spam.example")
    receive(build_email(sender="x@spam.example", subject="Invoice", text="Please pay"))
    message = Message.objects.get()

    released = lists.release_message(message, actor=ME)

    assert released.status == Status.RECEIVED and released.is_read is False
    assert _deliveries(webhook) == ["message.blocked", "message.released", "message.received"]
    released_event = Event.objects.get(type="message.released")
    assert released_event.payload["releasedBy"] == ME
    assert released_event.payload["status"] == "received"
    thread = Thread.objects.get()
    assert thread.message_count == 1 and thread.preview == "Please pay"
    assert [box.unread_threads for box in list_inboxes_with_unread(org)] == [1]
    base = f"/v1/inboxes/{inbox.public_id}"
    assert [row["id"] for row in api_client.get(f"{base}/messages").json()] == [message.public_id]
    assert [row["id"] for row in api_client.get(f"{base}/threads").json()] == [thread.public_id]
    with pytest.raises(MessageNotBlocked):
        lists.release_message(Message.objects.get(), actor=ME)
    assert _deliveries(webhook).count("message.received") == 1


def test_a_blocked_reply_joins_its_thread_without_showing_in_it(org, inbox, receive, api_client):
    receive(build_email(sender="ann@customer.example", message_id="<first@customer.example>"))
    _block(org, "ann@customer.example")
    receive(
        build_email(
            sender="ann@customer.example",
            subject="Re: Hello",
            text="blocked words",
            in_reply_to="<first@customer.example>",
        )
    )
    thread = Thread.objects.get()
    assert thread.message_count == 1 and "blocked words" not in thread.preview
    base = f"/v1/inboxes/{inbox.public_id}/threads/{thread.public_id}"
    assert len(api_client.get(base).json()["messages"]) == 1
    assert len(api_client.get(base, {"include": "blocked"}).json()["messages"]) == 2


def test_a_blocked_reply_leaves_a_closed_thread_closed_and_its_release_reopens_it(
    org, inbox, receive
):
    receive(build_email(sender="ann@customer.example", message_id="<first@customer.example>"))
    thread = Thread.objects.get()
    Thread.objects.filter(pk=thread.pk).update(status=ThreadStatus.CLOSED)
    _block(org, "ann@customer.example")
    receive(
        build_email(
            sender="ann@customer.example",
            subject="Re: Hello",
            in_reply_to="<first@customer.example>",
        )
    )
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.CLOSED  # mail nobody will see does not reopen it

    lists.release_message(Message.objects.get(status=Status.BLOCKED), actor=ME)

    thread.refresh_from_db()
    assert thread.status == ThreadStatus.OPEN and thread.message_count == 2
    assert Event.objects.filter(type="thread.updated").count() == 1


def test_an_unknown_include_value_is_a_400_naming_it(inbox, api_client):
    response = api_client.get(f"/v1/inboxes/{inbox.public_id}/messages", {"include": "spam"})
    assert response.status_code == 400 and list(response.json()["fields"]) == ["include"]
    response = api_client.get(f"/v1/inboxes/{inbox.public_id}/threads", {"include": "x"})
    assert response.status_code == 400 and "spam" not in response.json()["error"]


def test_an_organization_without_receive_entries_pays_no_lookup(org, inbox, receive):
    from django.test.utils import CaptureQueriesContext

    lists.add_entry(org, inbox=None, direction="send", kind="block", value="x.example", actor=ME)
    with CaptureQueriesContext(connection) as queries:
        receive(build_email())
    assert not [
        q for q in queries.captured_queries if "mail_listentry" in q["sql"].split("FROM")[-1]
    ]
    assert Message.objects.get().status == Status.RECEIVED


def test_a_real_webhook_receiver_gets_no_received_event_until_the_release_then_exactly_one(
    org, inbox, receive, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.SENDOOK_WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setattr(posting, "resolver", None)
    monkeypatch.setattr(queueing, "run_in_background", lambda function, *args: function(*args))
    _block(org, "spam.example")
    with receiver(ok()) as hook:
        secret = signing.generate_secret()
        Webhook.objects.create(
            organization=org,
            url=hook.url,
            events=["message.received", "message.released"],
            secret=secret,
        )
        hook.secret = secret
        receive(build_email(sender="x@spam.example"))
        assert hook.requests == []
        with django_capture_on_commit_callbacks(execute=True):
            lists.release_message(Message.objects.get(), actor=ME)
        requests = hook.wait_for_requests(2)
    assert [r.json()["event"] for r in requests] == ["message.released", "message.received"]
    assert all(r.verified for r in requests)


@pytest.mark.django_db(transaction=True)
def test_two_releases_racing_on_two_connections_deliver_one_message_received(org):
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    inbox = InboxFactory(organization=org, email="race@sendook.localhost")
    _block(org, "spam.example")
    from messages.services.receive import process_inbound_email, receive_raw_email

    record = receive_raw_email(
        build_email(sender="x@spam.example", to=inbox.email),
        recipients=[inbox.email],
        source="smtp",
    )
    process_inbound_email(record)
    message_pk = Message.objects.get().pk
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def release() -> None:
        try:
            message = Message.objects.select_related("organization", "inbox", "thread").get(
                pk=message_pk
            )
            barrier.wait()
            lists.release_message(message, actor=ME)
            outcomes.append("released")
        except MessageNotBlocked:
            outcomes.append("conflict")
        finally:
            close_old_connections()
            connection.close()

    workers = [threading.Thread(target=release) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert sorted(outcomes) == ["conflict", "released"]
    assert Event.objects.filter(type="message.received").count() == 1
    assert Event.objects.filter(type="message.released").count() == 1
    assert Thread.objects.get().message_count == 1
    assert ListEntry.objects.count() == 1
