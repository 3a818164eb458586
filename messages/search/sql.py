"""A search query as a filter on messages, on any database (PostgreSQL's full text and SQLite's
case folding come from their modules)."""

from __future__ import annotations

import json
from functools import reduce
from operator import and_, or_

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.lookups import Contains

from messages.models import Attachment, Message
from messages.search import postgres
from messages.search.query import (
    JSON_FIELDS,
    TEXT_FIELDS,
    Clause,
    Operator,
    parse_date,
    parse_query,
)
from messages.search.sqlite import CaseFold, CaseFoldJson


def _contains(name: str, value: str) -> Q:
    """Case-insensitive substring match of a TEXT_FIELDS column, for any alphabet: PostgreSQL's
    UPPER() LIKE folds Unicode (and uses the trigram index); on SQLite a word with non-ASCII
    letters goes through CaseFold (a Python call per row: ~9x the cost of LIKE on a full scan,
    so ASCII words keep SQLite's LIKE, which folds them already)."""
    if connection.vendor != "sqlite" or value.isascii():
        return Q(**{f"{name}__icontains": value})
    column = CaseFoldJson(name) if name in JSON_FIELDS else CaseFold(name)
    return Q(Contains(column, value.casefold()))


def _any_field_contains(text: str) -> Q:
    return reduce(or_, (_contains(name, text) for name in TEXT_FIELDS))


def _json_string(value: str) -> str:
    # How a string appears inside a stored JSON list: PostgreSQL's jsonb::text keeps non-ASCII
    # characters, Django's JSON encoding on other backends escapes them.
    return json.dumps(value, ensure_ascii=connection.vendor != "postgresql")


def _operator_filter(operator: Operator, *, indexed: bool = False) -> Q:
    name, value = operator.name, operator.value
    if name == "from":
        condition = _contains("from_email", value) | _contains("from_name", value)
    elif name == "to":
        condition = _contains("to", value) | _contains("cc", value)
    elif name == "subject":
        condition = _contains("subject", value)
    elif name == "label":
        condition = Q(labels__icontains=_json_string(value))
    elif name == "has":
        files = Attachment.objects.filter(message=OuterRef("pk"), inline=False)
        condition = Q(Exists(files))
    elif name == "before":
        condition = Q(created_at__lt=parse_date(name, value))
    elif name == "after":
        condition = Q(created_at__gte=parse_date(name, value))
    elif name == "is":
        condition = {
            "sent": Q(direction=Message.Direction.OUTBOUND),
            "received": Q(direction=Message.Direction.INBOUND),
            "read": Q(is_read=True),
            "unread": Q(is_read=False),
        }[value.lower()]
    else:  # "in"
        condition = Q(inbox__email__iexact=value)
    if operator.negated:
        return ~condition
    if indexed and name in ("from", "to", "subject", "label") and len(value) >= 3:
        # Implied by the condition (those fields are part of the full-text expression), and
        # answerable from its trigram index: narrows the rows before the exact field checks.
        needle = _json_string(value) if name == "label" else value
        condition &= Q(**{f"{postgres.FULLTEXT_ALIAS}__icontains": needle})
    return condition


def _text_filter_fallback(clause: Clause) -> Q:
    """A clause's free text as substring matches, ANDed."""
    conditions = [
        ~_any_field_contains(term.text) if term.negated else _any_field_contains(term.text)
        for term in clause.terms
    ]
    return reduce(and_, conditions, Q())


def _clause_filter(clause: Clause, *, postgres_db: bool) -> Q:
    condition = reduce(
        and_, (_operator_filter(op, indexed=postgres_db) for op in clause.operators), Q()
    )
    if not clause.terms:
        return condition
    if not postgres_db or not clause.has_text:
        # Elsewhere: substring matching. On PostgreSQL too when there are only exclusions
        # ("-spam"), which websearch_to_tsquery cannot express as "everything but".
        return condition & _text_filter_fallback(clause)
    return condition & postgres.text_filter(clause)


def filter_messages(
    rows: QuerySet[Message], query: str, *, ranked: bool = True
) -> QuerySet[Message]:
    """`rows` narrowed to those matching `query`. With `ranked`, ordered best match first
    (PostgreSQL, free text) or newest first; without, the caller's ordering is kept (the API
    paginates by its own keyset)."""
    parsed = parse_query(query or "")
    postgres_db = connection.vendor == "postgresql"
    if postgres_db:
        rows = rows.alias(**{postgres.FULLTEXT_ALIAS: postgres.fulltext_expression()})
    newest = ("-created_at", "-id")
    if parsed.clauses:
        rows = rows.filter(
            reduce(
                or_, (_clause_filter(clause, postgres_db=postgres_db) for clause in parsed.clauses)
            )
        )
    if not ranked:
        return rows
    if not postgres_db or not parsed.has_text:
        return rows.order_by(*newest)
    return postgres.ranked(rows, parsed, newest)
