"""SQLite's part of search: Unicode case folding, which its LIKE and lower() lack."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Func, TextField


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
