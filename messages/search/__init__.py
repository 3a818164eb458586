"""One search language for the API (`GET …/messages?query=`) and the staff UI.

A query is free text plus operators:

    from:alice  to:bob (to or cc)  subject:"quarterly report"  label:urgent  has:attachment
    before:2026-01-31  after:2026-01-01  is:sent  is:received  is:read  is:unread
    in:support@acme.test  (an inbox address: narrows a search across all inboxes)

Values may be quoted ("…"). An operator prefixed with `-` is negated (`-label:spam`).
Free text follows websearch rules: words must all match, "quoted phrases" match as a phrase,
`-word` excludes. `OR` (in capitals) separates alternatives, words and operators alike, and AND
binds tighter: `invoice from:alice OR refund from:bob` is
`(invoice AND from:alice) OR (refund AND from:bob)`; there are no parentheses.

On PostgreSQL free text runs against `Message.search_vector`, a tsvector over subject (weight A),
sender and recipients (B) and text (C) kept up to date by a database trigger (migration
0003_message_search_vector), so every writer — API, inbound pipeline, admin, bulk updates — keeps
it right without calling anything. Results are ranked (ts_rank) when there is free text.
Plain words (no quotes, no `-`, no `OR`) keep the meaning they had in the original Sendook: a
case-insensitive substring match over subject, text, from, to, cc and labels. So on PostgreSQL a
plain-word query matches rows whose tsvector matches OR which contain every word as a substring
("invoice" finds "invoices" by stemming and "alice" finds "alice@example.com" by substring).

On SQLite (and any other backend) the same syntax runs through icontains: each word or phrase is
a substring match over those fields, `-term` excludes, `OR` alternates; there is no ranking.
SQLite's LIKE folds only ASCII letters, so a word with other letters is compared through a
Python casefold() registered on each SQLite connection (CaseFold): "élan" finds "Élan".
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import reduce
from operator import and_, or_
from typing import Any

from django.db import connection
from django.db.models import Exists, F, Func, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.db.models.lookups import Contains
from django.utils import timezone

from inboxes.models import Inbox, Organization
from messages.models import Attachment, Message
from sendook.exceptions import SendookError

SEARCH_CONFIG = "english"
MAX_QUERY_LENGTH = 1000
OPERATORS = ("from", "to", "subject", "label", "has", "before", "after", "is", "in")
# The fields a plain word is matched against, as in the original Sendook.
TEXT_FIELDS = ("subject", "text", "from_email", "from_name", "to", "cc", "labels")
JSON_FIELDS = ("to", "cc", "labels")
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


class CaseFold(Func):
    """SQLite only: Python's str.casefold() of a column. SQLite's LIKE and lower() fold ASCII
    letters only, so "élan" would miss "Élan" (and "strasse" miss "Straße")."""

    function = "sendook_casefold"
    output_field = TextField()


class CaseFoldJson(CaseFold):
    """SQLite only: the strings of a JSON list column, casefolded (Django stores JSON there
    with non-ASCII characters escaped, which no LIKE can see through)."""

    function = "sendook_casefold_json"


def _casefold(value: str | None) -> str | None:
    return None if value is None else value.casefold()


def _casefold_json(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        items = json.loads(value)
    except ValueError:
        return value.casefold()
    if not isinstance(items, list):
        items = [items]
    return "\n".join(str(item) for item in items).casefold()


def register_sqlite_functions(sender: object, connection: Any, **kwargs: Any) -> None:
    """connection_created receiver: the CaseFold functions on each SQLite connection."""
    if connection.vendor == "sqlite":
        raw = connection.connection
        raw.create_function("sendook_casefold", 1, _casefold, deterministic=True)
        raw.create_function("sendook_casefold_json", 1, _casefold_json, deterministic=True)


def _contains(name: str, value: str) -> Q:
    """Case-insensitive substring match of a TEXT_FIELDS column, for any alphabet: PostgreSQL's
    UPPER() LIKE folds Unicode (and uses the trigram index); on SQLite a word with non-ASCII
    letters goes through CaseFold (a Python call per row: ~9x the cost of LIKE on a full scan,
    so ASCII words keep SQLite's LIKE, which folds them already)."""
    if connection.vendor != "sqlite" or value.isascii():
        return Q(**{f"{name}__icontains": value})
    column = CaseFoldJson(name) if name in JSON_FIELDS else CaseFold(name)
    return Q(Contains(column, value.casefold()))


class InvalidSearchQuery(SendookError):
    status_code = 400
    code = "invalid_query"
    message = "Invalid search query"

    def __init__(self, message: str) -> None:
        super().__init__(message, fields={"query": [message]})


@dataclass(frozen=True)
class Term:
    """A piece of free text: a word or a quoted phrase, maybe negated."""

    text: str
    phrase: bool = False
    negated: bool = False

    @property
    def is_plain(self) -> bool:
        return not self.phrase and not self.negated


@dataclass(frozen=True)
class Operator:
    name: str
    value: str
    negated: bool = False


@dataclass
class Clause:
    """Terms and operators that must all match."""

    terms: list[Term] = field(default_factory=list)
    operators: list[Operator] = field(default_factory=list)

    @property
    def has_text(self) -> bool:
        return any(not term.negated for term in self.terms)

    @property
    def plain_words(self) -> bool:
        """Only plain words: the original Sendook meaning (substring match) applies."""
        return bool(self.terms) and all(term.is_plain for term in self.terms)

    def websearch_text(self) -> str:
        """The free text rebuilt for PostgreSQL's websearch_to_tsquery."""
        words = []
        for term in self.terms:
            text = term.text.replace('"', " ")
            text = f'"{text}"' if term.phrase else text
            words.append(f"-{text}" if term.negated else text)
        return " ".join(words)


@dataclass
class ParsedQuery:
    # Disjunctive normal form: clauses joined by OR (AND binds tighter, as in Gmail's search:
    # `a b OR c from:x` is `(a AND b) OR (c AND from:x)`).
    clauses: list[Clause] = field(default_factory=list)

    @property
    def groups(self) -> list[list[Term]]:
        return [clause.terms for clause in self.clauses if clause.terms]

    @property
    def terms(self) -> list[Term]:
        return [term for clause in self.clauses for term in clause.terms]

    @property
    def operators(self) -> list[Operator]:
        return [operator for clause in self.clauses for operator in clause.operators]

    @property
    def has_text(self) -> bool:
        return any(clause.has_text for clause in self.clauses)

    def websearch_text(self) -> str:
        """The free text of every clause, for ranking."""
        return " or ".join(c.websearch_text() for c in self.clauses if c.has_text)


# One token: an optional "-", then either `name:value`, `name:"quoted value"`, a "quoted
# phrase" or a bare word. A word made only of letters followed by ":" is an operator name.
_TOKEN = re.compile(
    r"""
    (?P<neg>-)?
    (?:
        (?P<op>[A-Za-z_]+):(?:"(?P<opquoted>[^"]*)"?|(?P<opvalue>[^\s"]*))
      | "(?P<phrase>[^"]*)"?
      | (?P<word>[^\s"]+)
    )
    """,
    re.VERBOSE,
)


def parse_query(query: str) -> ParsedQuery:
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidSearchQuery(f"The query is longer than {MAX_QUERY_LENGTH} characters.")
    parsed = ParsedQuery()
    clause = Clause()
    position = 0
    while True:
        while position < len(query) and query[position].isspace():
            position += 1
        if position >= len(query):
            break
        match = _TOKEN.match(query, position)
        if match is None:  # pragma: no cover - the word alternative matches any non-space run
            raise InvalidSearchQuery(f"Cannot read the query at {query[position:]!r}.")
        position = match.end()
        negated = bool(match.group("neg"))
        name = match.group("op")
        # `http://…` and the like are text, not operators.
        if name is not None and (match.group("opvalue") or "").startswith("//"):
            name = None
            word = match.group(0).lstrip("-")
            clause.terms.append(Term(word, negated=negated))
            continue
        if name is not None:
            value = match.group("opquoted")
            if value is None:
                value = match.group("opvalue") or ""
            clause.operators.append(_operator(name.lower(), value.strip(), negated))
        elif match.group("phrase") is not None:
            phrase = " ".join(match.group("phrase").split())
            if phrase:
                clause.terms.append(Term(phrase, phrase=" " in phrase, negated=negated))
        else:
            word = match.group("word")
            if word == "OR" and not negated:
                if clause.terms or clause.operators:
                    parsed.clauses.append(clause)
                    clause = Clause()
                continue
            if negated and word == "":
                continue
            clause.terms.append(Term(word, negated=negated))
    if clause.terms or clause.operators:
        parsed.clauses.append(clause)
    return parsed


def _operator(name: str, value: str, negated: bool) -> Operator:
    if name not in OPERATORS:
        known = ", ".join(f"{op}:" for op in OPERATORS)
        raise InvalidSearchQuery(f"Unknown search operator '{name}:'. Known operators: {known}.")
    if not value:
        raise InvalidSearchQuery(f"The operator '{name}:' needs a value.")
    if name in ("before", "after"):
        _parse_date(name, value)
    elif name == "has" and value.lower() not in ("attachment", "attachments"):
        raise InvalidSearchQuery(f"Unknown value 'has:{value}'. Use has:attachment.")
    elif name == "is" and value.lower() not in ("sent", "received", "read", "unread"):
        raise InvalidSearchQuery(
            f"Unknown value 'is:{value}'. Use is:sent, is:received, is:read or is:unread."
        )
    return Operator(name, value, negated)


def _parse_date(name: str, value: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidSearchQuery(f"'{name}:{value}' is not a date; use YYYY-MM-DD.")
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


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
        condition = Q(created_at__lt=_parse_date(name, value))
    elif name == "after":
        condition = Q(created_at__gte=_parse_date(name, value))
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
        condition &= Q(**{f"{FULLTEXT_ALIAS}__icontains": needle})
    return condition


def _text_filter_fallback(clause: Clause) -> Q:
    """A clause's free text as substring matches, ANDed."""
    conditions = [
        ~_any_field_contains(term.text) if term.negated else _any_field_contains(term.text)
        for term in clause.terms
    ]
    return reduce(and_, conditions, Q())


def _clause_filter(clause: Clause, *, postgres: bool) -> Q:
    condition = reduce(
        and_, (_operator_filter(op, indexed=postgres) for op in clause.operators), Q()
    )
    if not clause.terms:
        return condition
    if not postgres or not clause.has_text:
        # Elsewhere: substring matching. On PostgreSQL too when there are only exclusions
        # ("-spam"), which websearch_to_tsquery cannot express as "everything but".
        return condition & _text_filter_fallback(clause)

    from django.contrib.postgres.search import SearchQuery

    tsquery = SearchQuery(clause.websearch_text(), search_type="websearch", config=SEARCH_CONFIG)
    text = Q(search_vector=tsquery)
    if clause.plain_words:
        # The substring meaning of plain words, on the trigram-indexed expression.
        text |= reduce(
            and_, (Q(**{f"{FULLTEXT_ALIAS}__icontains": term.text}) for term in clause.terms)
        )
    return condition & text


def search_messages(
    organization: Organization, query: str, *, inbox: Inbox | None = None
) -> QuerySet[Message]:
    """The organization's messages matching `query` (in `inbox` if given): best matches first
    when there is free text on PostgreSQL, newest first otherwise."""
    rows = Message.objects.filter(organization=organization)
    if inbox is not None:
        rows = rows.filter(inbox=inbox)
    return filter_messages(rows, query)


def filter_messages(
    rows: QuerySet[Message], query: str, *, ranked: bool = True
) -> QuerySet[Message]:
    """`rows` narrowed to those matching `query`. With `ranked`, ordered best match first
    (PostgreSQL, free text) or newest first; without, the caller's ordering is kept (the API
    paginates by its own keyset)."""
    parsed = parse_query(query or "")
    postgres = connection.vendor == "postgresql"
    if postgres:
        rows = rows.alias(**{FULLTEXT_ALIAS: fulltext_expression()})
    newest = ("-created_at", "-id")
    if parsed.clauses:
        rows = rows.filter(
            reduce(or_, (_clause_filter(clause, postgres=postgres) for clause in parsed.clauses))
        )
    if not ranked:
        return rows
    if not postgres or not parsed.has_text:
        return rows.order_by(*newest)

    from django.contrib.postgres.search import SearchQuery, SearchRank

    tsquery = SearchQuery(parsed.websearch_text(), search_type="websearch", config=SEARCH_CONFIG)
    return rows.annotate(search_rank=SearchRank(F("search_vector"), tsquery)).order_by(
        "-search_rank", *newest
    )
