# ruff: noqa: F811  (the inbound fixtures, imported below, are named as test arguments)
"""Routing received mail: which hosted inboxes an address reaches, `+tag` labels, strangers."""

import pytest

from inboxes.tests.factories import InboxFactory
from messages.models import InboundEmail, Message
from messages.tests.inbound.conftest import inbox, receive  # noqa: F401  (the inbound fixtures)
from messages.tests.inbound.mail import build_email

pytestmark = pytest.mark.django_db


def test_recipients_are_matched_case_insensitively_and_plus_tags_become_labels(org, receive):
    inbox = InboxFactory(organization=org, email="sales@sendook.localhost")

    record = receive(
        build_email(to="Sales+Leads@Sendook.Localhost"),
        to=["Sales+Leads@Sendook.Localhost", "nobody@sendook.localhost"],
    )

    message = Message.objects.get()
    assert message.inbox == inbox
    assert "leads" in message.labels
    assert record.unknown_recipients == ["nobody@sendook.localhost"]
    assert record.status == InboundEmail.Status.PROCESSED


def test_mail_for_nobody_hosted_is_recorded_not_an_error(db, receive):
    record = receive(build_email(), to=["ghost@elsewhere.example"])

    assert record.status == InboundEmail.Status.PROCESSED
    assert record.unknown_recipients == ["ghost@elsewhere.example"]
    assert Message.objects.count() == 0


def test_mail_for_a_deleted_inbox_reaches_nobody(org, other_org, receive):
    from inboxes.services import create_inbox, delete_inbox

    delete_inbox(create_inbox(org, email="desk@sendook.localhost"))
    record = receive(
        build_email(to="desk@sendook.localhost"), to=["desk@sendook.localhost"], source="ses"
    )
    assert record.unknown_recipients == ["desk@sendook.localhost"]
    assert not Message.objects.exists()


def test_a_quoted_recipient_is_routed_to_the_mailbox_it_names(inbox, receive):
    receive(build_email(to='"support"@sendook.localhost'), to=['"support"@SENDOOK.localhost'])
    assert Message.objects.get().inbox == inbox
