"""Bare-array lists with cursor pagination and `Link: <…>; rel="next"` (`CursorPagination`)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.db import models
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from sendook.exceptions import ValidationFailed


class CursorPagination(BasePagination):
    """Bare JSON arrays in a stable order, with an opaque keyset cursor.

    Views list newest first by primary key (creation order). A view may set
    `ordering_field = "last_message_at"` to order by that column (ties broken by primary key),
    or `newest_first = False` (the event feed) to list oldest first.
    """

    default_limit = 50
    max_limit = 200

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        limit = self.get_limit(request)
        newest_first = getattr(view, "newest_first", True)
        field = getattr(view, "ordering_field", None)
        cursor = request.query_params.get("cursor")
        op = "lt" if newest_first else "gt"
        if cursor:
            kind = None
            if field:
                column = queryset.model._meta.get_field(field)
                kind = datetime if isinstance(column, models.DateTimeField) else int
            value, pk = decode_cursor(cursor, kind=kind)
            if field:
                queryset = queryset.filter(
                    models.Q(**{f"{field}__{op}": value})
                    | models.Q(**{field: value, f"pk__{op}": pk})
                )
            else:
                queryset = queryset.filter(**{f"pk__{op}": pk})
        sign = "-" if newest_first else ""
        order = [f"{sign}{field}", f"{sign}pk"] if field else [f"{sign}pk"]
        rows = list(queryset.order_by(*order)[: limit + 1])
        self.request = request
        self.next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            # Rows are models, or dicts from .values() with a "pk" key (the message list).
            if isinstance(last, dict):
                value, pk = last.get(field) if field else None, last["pk"]
            else:
                value, pk = getattr(last, field) if field else None, last.pk
            self.next_cursor = encode_cursor(value, pk)
        return rows[:limit]

    def get_limit(self, request: Request) -> int:
        raw = request.query_params.get("limit")
        if raw is None or raw == "":
            return self.default_limit
        try:
            limit = int(raw)
        except ValueError:
            raise ValidationFailed.for_field("limit", "Must be an integer.") from None
        if limit < 1:
            raise ValidationFailed.for_field("limit", "Must be at least 1.")
        return min(limit, self.max_limit)

    def get_paginated_response(self, data: Any) -> Response:
        headers = {}
        if self.next_cursor:
            # A plain dict of lists, in the same order: QueryDict.copy() deep-copies.
            params = dict(self.request.query_params.lists())
            params["cursor"] = [self.next_cursor]
            url = (
                self.request.build_absolute_uri(self.request.path)
                + "?"
                + urlencode(list(params.items()), doseq=True)
            )
            headers["Link"] = f'<{url}>; rel="next"'
        return Response(data, headers=headers)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return schema

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Page size (default {self.default_limit}, max {self.max_limit}).",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": 'Opaque cursor from the previous page\'s Link rel="next" header.',
                "schema": {"type": "string"},
            },
        ]


def encode_cursor(value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# The largest primary key PostgreSQL's bigint holds: past it, a forged cursor is refused here
# instead of overflowing in the database.
_MAX_PK = 2**63 - 1


def decode_cursor(cursor: str, *, kind: type | None = None) -> tuple[Any, int]:
    """The (value, pk) a cursor of `encode_cursor` holds. Anything else, forged or damaged,
    is a 400 naming the parameter: `kind` is the type of the ordering column's value
    (datetime, int), None for a list ordered by primary key alone."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if not isinstance(pk, int) or isinstance(pk, bool) or not 0 <= pk <= _MAX_PK:
            raise ValueError(pk)
        if kind is datetime:
            if not isinstance(value, str):
                raise ValueError(value)
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError(value)
            value.astimezone(UTC)  # an offset that leaves datetime's range overflows
        elif kind is int:
            if not isinstance(value, int) or isinstance(value, bool) or abs(value) > _MAX_PK:
                raise ValueError(value)
        elif value is not None:
            raise ValueError(value)
        return value, pk
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error):
        raise ValidationFailed.for_field(
            "cursor", "Invalid cursor.", code="invalid_cursor"
        ) from None
