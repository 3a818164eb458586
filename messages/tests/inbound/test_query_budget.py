"""The pipeline's database work per message stays small: it bounds inbound throughput."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messages.models import Message
from messages.services.receive import process_inbound_email, receive_raw_email
from messages.tests.inbound.mail import build_email

pytestmark = pytest.mark.django_db


def test_a_new_message_costs_a_handful_of_queries(inbox):
    record = receive_raw_email(build_email(), recipients=[inbox.email], source="local")

    with CaptureQueriesContext(connection) as queries:
        process_inbound_email(record)

    assert Message.objects.count() == 1
    statements = [q["sql"].split()[0].lstrip("(") for q in queries.captured_queries]
    # hosted inboxes, thread, message, event, record, the sender's trust signals (one UNION,
    # which starts with a parenthesis) (+ savepoint bookkeeping)
    assert len([s for s in statements if s in ("SELECT", "INSERT", "UPDATE")]) <= 7, statements


@pytest.mark.django_db(transaction=True)
def test_storing_raw_mail_is_one_statement_and_processing_it_one_commit(org, monkeypatch):
    from inboxes.tests.factories import InboxFactory
    from messages.services import receive as receive_service

    queued = []
    monkeypatch.setattr(receive_service, "enqueue_processing", queued.append)  # process it below

    InboxFactory(organization=org, email="a@sendook.localhost")
    InboxFactory(organization=org, email="b@sendook.localhost")
    to = ["a@sendook.localhost", "b@sendook.localhost"]

    with CaptureQueriesContext(connection) as stored:
        record = receive_raw_email(build_email(to=", ".join(to)), recipients=to, source="local")
    with CaptureQueriesContext(connection) as processed:
        process_inbound_email(record)

    # Raw first, committed on its own (autocommit); then both inboxes and the record's outcome
    # commit together, so a crash between them cannot mark mail processed that was not stored.
    assert [q["sql"].split()[0] for q in stored.captured_queries] == ["INSERT"]
    assert queued == [record.pk]
    commits = [q for q in processed.captured_queries if q["sql"] == "COMMIT"]
    assert len(commits) == 1
    assert Message.objects.count() == 2
