"""The pipeline's database work per message stays small: it bounds inbound throughput."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messages.models import Message
from messages.services.receiving import process_inbound_email, receive_raw_email
from messages.tests.inbound.mail import build_email

pytestmark = pytest.mark.django_db


def test_a_new_message_costs_a_handful_of_queries(inbox):
    record = receive_raw_email(build_email(), recipients=[inbox.email], source="local")

    with CaptureQueriesContext(connection) as queries:
        process_inbound_email(record)

    assert Message.objects.count() == 1
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    # hosted inboxes, thread, message, event, record (+ savepoint bookkeeping)
    assert len([s for s in statements if s in ("SELECT", "INSERT", "UPDATE")]) <= 6, statements
