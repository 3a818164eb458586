# ruff: noqa: F811  (the inbound fixtures, imported below, are named as test arguments)
"""Threads: subjects, and which conversation received mail continues."""

import pytest

from inboxes.tests.factories import InboxFactory
from messages.models import Message, Thread
from messages.services.threads import forward_subject, normalize_subject, reply_subject
from messages.tests.inbound.conftest import inbox, receive  # noqa: F401  (the inbound fixtures)
from messages.tests.inbound.mail import build_email


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Hello", "hello"),
        ("RE: re: Fwd: FW: Hello   world", "hello world"),
        ("Aw: Sv: Antw: WG: Angebot", "angebot"),
        ("Re[2]: Re(3): status", "status"),
        ("[dev] Re: build", "[dev] re: build"),
        ("Re:", ""),
        ("Regarding the plan", "regarding the plan"),
        ("  Fwd :  Spaced  ", "spaced"),
    ],
)
def test_normalize_subject_strips_reply_and_forward_prefixes(subject, expected):
    assert normalize_subject(subject) == expected


@pytest.mark.parametrize(
    ("subject", "reply", "forward"),
    [
        ("Hello", "Re: Hello", "Fwd: Hello"),
        ("AW: Angebot", "AW: Angebot", "Fwd: AW: Angebot"),
        ("Fw: report", "Re: Fw: report", "Fw: report"),
        ("Re[2]: status", "Re[2]: status", "Fwd: Re[2]: status"),
    ],
)
def test_replies_and_forwards_add_their_prefix_once(subject, reply, forward):
    assert reply_subject(subject) == reply
    assert forward_subject(subject) == forward


@pytest.mark.django_db
def test_a_five_reply_chain_across_gmail_and_outlook_lands_in_one_thread(inbox, receive):
    # Gmail replies carry In-Reply-To and the full References chain; Outlook often carries only
    # a (sometimes truncated) References and its own Thread-Index, and "RE:" / "AW:" prefixes.
    ids = [f"<chain{i}@{'mail.gmail.com' if i % 2 == 0 else 'outlook.com'}>" for i in range(6)]
    receive(build_email(subject="Project kickoff", message_id=ids[0]))
    for i in range(1, 6):
        if i % 2 == 0:  # Gmail-style
            raw = build_email(
                subject="Re: Project kickoff",
                message_id=ids[i],
                in_reply_to=ids[i - 1],
                references=" ".join(ids[:i]),
                sender="Ada <ada@example.org>",
            )
        else:  # Outlook-style: no In-Reply-To, References with the first and the last only
            raw = build_email(
                subject="RE: Project kickoff" if i != 3 else "AW: Re: Project kickoff",
                message_id=ids[i],
                references=f"{ids[0]} {ids[i - 1]}",
                sender="Bob <bob@example.org>",
                extra_headers={"Thread-Index": "AdQ1234567890abcdef=="},
            )
        receive(raw)

    assert Thread.objects.count() == 1
    thread = Thread.objects.get()
    assert thread.message_count == 6
    rules = list(thread.messages.order_by("id").values_list("thread_rule", flat=True))
    assert rules == ["new", "references", "in_reply_to", "references", "in_reply_to", "references"]
    assert {"ada@example.org", "bob@example.org"} <= set(thread.participants)


@pytest.mark.django_db
def test_a_reply_to_mail_we_sent_joins_the_sent_thread(inbox, receive):
    thread = Thread.objects.create(organization=inbox.organization, inbox=inbox, subject="Offer")
    Message.objects.create(
        organization=inbox.organization,
        inbox=inbox,
        thread=thread,
        direction="outbound",
        status="sent",
        from_email=inbox.email,
        to=["ada@example.org"],
        subject="Offer",
        message_id="<msg_sent@sendook.localhost>",
    )

    receive(build_email(subject="Re: Offer", in_reply_to="<msg_sent@sendook.localhost>"))

    reply = Message.objects.get(direction="inbound")
    assert reply.thread == thread
    assert reply.thread_rule == "in_reply_to"


@pytest.mark.django_db
def test_a_reply_that_lost_its_headers_joins_by_subject_and_participants(inbox, receive):
    receive(build_email(subject="Quarterly numbers", sender="ada@example.org"))
    receive(build_email(subject="Re: Quarterly numbers", sender="ada@example.org"))
    receive(build_email(subject="Re: Quarterly numbers", sender="mallory@example.net"))

    first, second, stranger = Message.objects.order_by("id")
    assert second.thread == first.thread and second.thread_rule == "subject"
    assert stranger.thread != first.thread and stranger.thread_rule == "new"


@pytest.mark.django_db
def test_subject_threading_stops_after_the_window(inbox, receive, settings):
    receive(build_email(subject="Old topic", sender="ada@example.org"))
    Thread.objects.update(last_message_at="2020-01-01T00:00:00Z")

    receive(build_email(subject="Re: Old topic", sender="ada@example.org"))

    assert Thread.objects.count() == 2


@pytest.mark.django_db
def test_threading_never_crosses_organizations(org, other_org, receive):
    InboxFactory(organization=org, email="support@sendook.localhost")
    InboxFactory(organization=other_org, email="help@sendook.localhost")
    receive(build_email(message_id="<root@example.org>"), to=["support@sendook.localhost"])

    receive(build_email(in_reply_to="<root@example.org>"), to=["help@sendook.localhost"])

    other = Message.objects.get(organization=other_org)
    assert other.thread_rule == "new"
    assert other.thread.organization == other_org
