import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from inboxes.tests.factories import InboxFactory
from messages.models import Message
from messages.search.query import InvalidSearchQuery
from messages.selectors import search_messages
from messages.tests.mail_factories import AttachmentFactory, MessageFactory

pytestmark = pytest.mark.django_db


def subjects(rows):
    return sorted(row.subject for row in rows)


def test_plain_word_matches_a_substring_of_subject_text_sender_or_recipients(org, inbox):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="Invoice 42", text="x")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="a", text="see the invoices")
    MessageFactory(
        inbox=inbox, thread__inbox=inbox, subject="b", from_email="invoicebot@example.com"
    )
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="c", text="nothing here")

    assert subjects(search_messages(org, "INVOICE")) == ["Invoice 42", "a", "b"]


def test_plain_word_matches_labels_and_cc(org, inbox):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="labelled", labels=["urgent"])
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="copied", cc=["urgent@example.com"])
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="other")

    assert subjects(search_messages(org, "urgent")) == ["copied", "labelled"]


def test_a_lowercase_non_ascii_word_finds_it_in_any_case(org, inbox):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="Élan vital", text="x")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="b", text="ÜBER ALLES")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="c", to=["Zoë Ärger <z@x.test>"])
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="d", from_name="ÉMILE", text="")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="e", labels=["Éclair"], text="")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="plain", text="elan uber")

    assert subjects(search_messages(org, "élan")) == ["Élan vital"]
    assert subjects(search_messages(org, "ÉLAN")) == ["Élan vital"]
    assert subjects(search_messages(org, "über")) == ["b"]
    assert subjects(search_messages(org, "ärger")) == ["c"]
    assert subjects(search_messages(org, "to:zoë")) == ["c"]
    assert subjects(search_messages(org, "from:émile")) == ["d"]
    assert subjects(search_messages(org, "subject:élan")) == ["Élan vital"]
    assert subjects(search_messages(org, "éclair")) == ["e"]
    assert subjects(search_messages(org, '"élan vital"')) == ["Élan vital"]
    assert subjects(search_messages(org, "-élan -über -ärger -émile -éclair")) == ["plain"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite folds with Python's casefold")
def test_sharp_s_finds_its_capital_spelling_on_sqlite(org, inbox):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="Hauptstraße 5", text="")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="HAUPTSTRASSE 7", text="")

    assert subjects(search_messages(org, "straße")) == ["HAUPTSTRASSE 7", "Hauptstraße 5"]


def test_several_plain_words_must_all_match(org, inbox):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="quarterly report", text="")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="quarterly numbers", text="")

    assert subjects(search_messages(org, "report quarterly")) == ["quarterly report"]


def test_quoted_phrase_needs_the_words_together(org, inbox):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="one", text="the annual budget review")
    MessageFactory(
        inbox=inbox, thread__inbox=inbox, subject="two", text="budget for the annual party"
    )

    assert subjects(search_messages(org, '"annual budget"')) == ["one"]


def test_minus_term_excludes(org, inbox):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="meeting monday", text="")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="meeting cancelled", text="")

    assert subjects(search_messages(org, "meeting -cancelled")) == ["meeting monday"]


def test_or_gives_alternatives(org, inbox):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="apples", text="")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="pears", text="")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="plums", text="")

    assert subjects(search_messages(org, "apples OR pears")) == ["apples", "pears"]


def test_or_between_operators_gives_alternatives(org, inbox):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="one", from_email="alice@x.test")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="two", from_email="bob@x.test")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="three", from_email="carol@x.test")

    assert subjects(search_messages(org, "from:alice OR from:bob")) == ["one", "two"]
    assert subjects(search_messages(org, "three OR from:alice")) == ["one", "three"]


def test_and_binds_tighter_than_or(org, inbox):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="invoice", from_email="alice@x.test")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="invoice", from_email="bob@x.test")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="refund", from_email="bob@x.test")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="refund", from_email="carol@x.test")

    rows = search_messages(org, "invoice from:alice OR refund from:bob")
    assert sorted((r.subject, r.from_email) for r in rows) == [
        ("invoice", "alice@x.test"),
        ("refund", "bob@x.test"),
    ]
    # A term outside the OR still applies to its own side only.
    rows = search_messages(org, "from:bob -refund OR from:carol")
    assert sorted((r.subject, r.from_email) for r in rows) == [
        ("invoice", "bob@x.test"),
        ("refund", "carol@x.test"),
    ]
    # A dangling OR is ignored.
    assert subjects(search_messages(org, "OR refund OR")) == ["refund", "refund"]


def test_from_and_to_operators(org, inbox):
    MessageFactory(
        inbox=inbox, thread__inbox=inbox, subject="from alice", from_email="alice@x.test"
    )
    MessageFactory(
        inbox=inbox,
        thread__inbox=inbox,
        subject="named",
        from_email="a@x.test",
        from_name="Alice B",
    )
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="cc bob", cc=["bob@y.test"], to=[])
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="to bob", to=["bob@y.test"])

    assert subjects(search_messages(org, "from:alice")) == ["from alice", "named"]
    assert subjects(search_messages(org, "to:bob@y.test")) == ["cc bob", "to bob"]


def test_subject_operator_with_a_quoted_value(org, inbox):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="Quarterly report Q3", text="")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="report", text="quarterly report")

    assert subjects(search_messages(org, 'subject:"quarterly report"')) == ["Quarterly report Q3"]


def test_label_operator_matches_whole_labels_and_can_be_negated(org, inbox):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="spam", labels=["spam"])
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="spammy", labels=["spammy"])
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="clean", labels=[])

    assert subjects(search_messages(org, "label:spam")) == ["spam"]
    assert subjects(search_messages(org, "-label:spam")) == ["clean", "spammy"]


def test_has_attachment_ignores_inline_images(org, inbox):
    with_file = MessageFactory(inbox=inbox, thread__inbox=inbox, subject="file")
    AttachmentFactory(message=with_file)
    inline = MessageFactory(inbox=inbox, thread__inbox=inbox, subject="inline")
    AttachmentFactory(message=inline, inline=True, content_id="logo")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="none")

    assert subjects(search_messages(org, "has:attachment")) == ["file"]


def test_before_and_after_dates(org, inbox):
    for day in (1, 15, 28):
        row = MessageFactory(inbox=inbox, thread__inbox=inbox, subject=f"day {day}")
        Message.objects.filter(pk=row.pk).update(
            created_at=timezone.make_aware(dt.datetime(2026, 2, day, 12))
        )

    assert subjects(search_messages(org, "after:2026-02-15")) == ["day 15", "day 28"]
    assert subjects(search_messages(org, "before:2026-02-15")) == ["day 1"]
    assert subjects(search_messages(org, "after:2026-02-02 before:2026-02-20")) == ["day 15"]


def test_is_sent_and_is_received(org, inbox):
    MessageFactory(
        inbox=inbox, thread__inbox=inbox, subject="out", direction="outbound", status="sent"
    )
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="in")

    assert subjects(search_messages(org, "is:sent")) == ["out"]
    assert subjects(search_messages(org, "is:received")) == ["in"]


def test_in_operator_narrows_to_one_inbox_address(org, inbox):
    sales = InboxFactory(organization=org, email="sales@acme.test")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="support")
    MessageFactory(inbox=sales, thread__inbox=sales, subject="sales")

    assert subjects(search_messages(org, "in:SALES@acme.test")) == ["sales"]
    assert subjects(search_messages(org, "", inbox=inbox)) == ["support"]


def test_operators_combine_with_free_text(org, inbox):
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="invoice", from_email="alice@x.test")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="invoice", from_email="bob@x.test")
    MessageFactory(inbox=inbox, thread__inbox=inbox, subject="hello", from_email="alice@x.test")

    rows = list(search_messages(org, "invoice from:alice"))
    assert [(r.subject, r.from_email) for r in rows] == [("invoice", "alice@x.test")]


def test_another_organizations_messages_never_match(org, other_org, inbox):
    theirs = InboxFactory(organization=other_org)
    MessageFactory(inbox=theirs, thread__inbox=theirs, subject="secret invoice")

    assert list(search_messages(org, "invoice")) == []
    assert list(search_messages(org, f"in:{theirs.email}")) == []


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("foo:bar", "Unknown search operator 'foo:'"),
        ("before:2026-13-01", "'before:2026-13-01' is not a date"),
        ("after:yesterday", "'after:yesterday' is not a date"),
        ("has:pictures", "has:pictures"),
        ("is:starred", "is:starred"),
        ("from:", "needs a value"),
    ],
)
def test_bad_queries_raise_invalid_query_naming_the_problem(org, query, fragment):
    with pytest.raises(InvalidSearchQuery) as error:
        search_messages(org, query)
    assert error.value.code == "invalid_query"
    assert error.value.status_code == 400
    assert fragment in error.value.message
