import pytest
from django.db import connection

from messages.models import Message
from messages.selectors import search_messages
from messages.tests.mail_factories import MessageFactory

pytestmark = pytest.mark.django_db


def subjects(rows):
    return sorted(row.subject for row in rows)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="full-text search is PostgreSQL-only")
class TestPostgresFullText:
    def test_the_vector_follows_every_write(self, org, inbox):
        row = MessageFactory(inbox=inbox, thread__inbox=inbox, subject="hello", text="")
        Message.objects.filter(pk=row.pk).update(text="the flamingos are dancing")

        assert [r.pk for r in search_messages(org, "flamingo dance")] == [row.pk]

    def test_stemmed_words_match_and_results_are_ranked(self, org, inbox):
        body = MessageFactory(
            inbox=inbox, thread__inbox=inbox, subject="misc", text="deploying now"
        )
        title = MessageFactory(inbox=inbox, thread__inbox=inbox, subject="Deployment", text="")

        assert [r.pk for r in search_messages(org, "deploy")] == [title.pk, body.pk]

    def test_websearch_syntax_excludes_and_alternates(self, org, inbox):
        MessageFactory(inbox=inbox, thread__inbox=inbox, subject="red cars", text="")
        MessageFactory(inbox=inbox, thread__inbox=inbox, subject="blue cars", text="")
        MessageFactory(inbox=inbox, thread__inbox=inbox, subject="green bikes", text="")

        assert subjects(search_messages(org, "car -blue")) == ["red cars"]
        assert subjects(search_messages(org, "cars OR bike")) == [
            "blue cars",
            "green bikes",
            "red cars",
        ]

    def test_substring_search_can_use_the_trigram_index(self, org, inbox):
        from messages.search.postgres import fulltext_expression

        MessageFactory(
            inbox=inbox, thread__inbox=inbox, subject="x", from_email="billing-bot@v.test"
        )
        rows = Message.objects.alias(search_fulltext=fulltext_expression()).filter(
            search_fulltext__icontains="bot"
        )
        with connection.cursor() as cursor:
            # A handful of rows: make the planner show it could use the index at all.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            assert "mail_message_fulltext_trgm" in rows.explain()
        assert [m.from_email for m in search_messages(org, "bot")] == ["billing-bot@v.test"]
