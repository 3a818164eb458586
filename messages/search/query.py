"""The search language read into clauses of terms and operators (see messages/search/)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.utils import timezone

from sendook.exceptions import SendookError

MAX_QUERY_LENGTH = 1000
OPERATORS = ("from", "to", "subject", "label", "has", "before", "after", "is", "in")
# The fields a plain word is matched against, as in the original Sendook.
TEXT_FIELDS = ("subject", "text", "from_email", "from_name", "to", "cc", "labels")
JSON_FIELDS = ("to", "cc", "labels")


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
        parse_date(name, value)
    elif name == "has" and value.lower() not in ("attachment", "attachments"):
        raise InvalidSearchQuery(f"Unknown value 'has:{value}'. Use has:attachment.")
    elif name == "is" and value.lower() not in ("sent", "received", "read", "unread"):
        raise InvalidSearchQuery(
            f"Unknown value 'is:{value}'. Use is:sent, is:received, is:read or is:unread."
        )
    return Operator(name, value, negated)


def parse_date(name: str, value: str) -> dt.datetime:
    """The start of the day a `before:`/`after:` value names, in the current time zone."""
    try:
        day = dt.date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidSearchQuery(f"'{name}:{value}' is not a date; use YYYY-MM-DD.")
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
