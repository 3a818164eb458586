"""PostgreSQL's part of search: full text over `Message.search_vector` with ranking, and the
trigram-indexed expression that serves substring matches.

django.contrib.postgres is imported where it is used, so other databases never need a
PostgreSQL driver."""

from __future__ import annotations

from functools import reduce
from operator import and_

from django.db.models import F, Func, Q, QuerySet, TextField
from django.db.models.functions import Cast

from messages.models import Message
from messages.search.query import JSON_FIELDS, TEXT_FIELDS, Clause, ParsedQuery

SEARCH_CONFIG = "english"
FULLTEXT_ALIAS = "search_fulltext"


class FullText(Func):
    """The TEXT_FIELDS joined by spaces (JSON lists as their text): `subject || ' ' || text …`.
    A word has no spaces, so "the word is a substring of this" means "of one of the fields".
    On PostgreSQL a trigram index over UPPER() of exactly this expression (migration 0005)
    serves icontains on it. Plain `||` (the columns are NOT NULL) keeps the SQL short, cheap
    to compile and to plan."""

    template = "(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self) -> None:
        super().__init__(
            *(Cast(name, TextField()) if name in JSON_FIELDS else F(name) for name in TEXT_FIELDS)
        )


def fulltext_expression() -> FullText:
    return FullText()


def text_filter(clause: Clause) -> Q:
    """A clause's free text (with at least one word to find) against the tsvector; plain words
    also by substring, on the trigram-indexed expression (FULLTEXT_ALIAS must be aliased)."""
    from django.contrib.postgres.search import SearchQuery

    tsquery = SearchQuery(clause.websearch_text(), search_type="websearch", config=SEARCH_CONFIG)
    text = Q(search_vector=tsquery)
    if clause.plain_words:
        # The substring meaning of plain words, on the trigram-indexed expression.
        text |= reduce(
            and_, (Q(**{f"{FULLTEXT_ALIAS}__icontains": term.text}) for term in clause.terms)
        )
    return text


def ranked(
    rows: QuerySet[Message], parsed: ParsedQuery, newest: tuple[str, ...]
) -> QuerySet[Message]:
    """Best match first, then newest."""
    from django.contrib.postgres.search import SearchQuery, SearchRank

    tsquery = SearchQuery(parsed.websearch_text(), search_type="websearch", config=SEARCH_CONFIG)
    return rows.annotate(search_rank=SearchRank(F("search_vector"), tsquery)).order_by(
        "-search_rank", *newest
    )
