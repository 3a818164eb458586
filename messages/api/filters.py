"""Query parameters of the message list, validated by a serializer like a request body.

A bad value is a 400 `validation_error` naming the first bad parameter, in the order declared
here. The fields read the raw query string: unlike DRF's form handling, `?view=` is an empty
value to refuse, not a missing one.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django.http import QueryDict
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sendook.exceptions import ValidationFailed


@extend_schema_field(OpenApiTypes.STR)
class SearchQueryParam(serializers.Field):
    def to_internal_value(self, data: Any) -> str:
        return str(data).strip()


@extend_schema_field(OpenApiTypes.STR)
class LabelsParam(serializers.Field):
    """Every `labels` parameter, each comma-separated."""

    def to_internal_value(self, data: Any) -> list[str]:
        return [label.strip() for value in data for label in value.split(",") if label.strip()]


@extend_schema_field(OpenApiTypes.DATETIME)
class WhenParam(serializers.Field):
    """An ISO 8601 date or date-time in UTC; empty means unset. A well-formed but impossible one
    (`2024-13-45T10:00:00`) is refused like any other bad value."""

    def to_internal_value(self, data: Any) -> datetime | None:
        raw = str(data)
        if not raw:
            return None
        try:
            value = parse_datetime(raw) if "T" in raw or " " in raw else None
            if value is None:
                day = parse_date(raw)
                if day is None:
                    raise ValueError(raw)
                value = datetime.combine(day, time.min)
            value = value if value.tzinfo else value.replace(tzinfo=UTC)
            return value.astimezone(UTC)  # an offset past datetime's range overflows here
        except (ValueError, OverflowError):
            raise serializers.ValidationError("Must be an ISO 8601 date or date-time.") from None


@extend_schema_field(OpenApiTypes.STR)
class IncludeParam(serializers.Field):
    """`include=blocked` (comma-separated, for more later): rows the default list leaves out."""

    KNOWN = ("blocked",)

    def to_internal_value(self, data: Any) -> frozenset[str]:
        values = {value.strip() for value in str(data).split(",") if value.strip()}
        unknown = sorted(values - set(self.KNOWN))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown value {', '.join(unknown)}; known: {', '.join(self.KNOWN)}."
            )
        return frozenset(values)


class IncludeFilter(serializers.Serializer):
    """`?include=` of the message and thread lists."""

    include = IncludeParam(
        default=frozenset(),
        help_text="blocked: also list mail held back by a receive block list (status blocked).",
    )


class MessageListFilter(serializers.Serializer):
    view = serializers.ChoiceField(
        choices=["full", "summary"],
        default="full",
        error_messages={"invalid_choice": "Must be full or summary."},
        help_text=(
            "full (default): message objects with text and html; summary: without the "
            "bodies, with a preview, for smaller pages."
        ),
    )
    query = SearchQueryParam(
        default="",
        help_text=(
            "Search: plain words are case-insensitive substrings of subject, text, from, to, "
            'cc or labels; "phrases", -word, OR, and the operators from:, to:, subject:, '
            "label:, has:attachment, before:/after: (YYYY-MM-DD), is:sent, is:received, "
            "is:read, is:unread. Unknown operators and bad dates: 400 invalid_query."
        ),
    )
    labels = LabelsParam(default=list, help_text="Comma-separated; messages carrying all of them.")
    before = WhenParam(default=None)
    after = WhenParam(default=None)


def validated_filters(
    serializer_class: type[serializers.Serializer], params: QueryDict
) -> dict[str, Any]:
    """`params` through `serializer_class`; list fields read every value of their name."""
    data: dict[str, Any] = params.dict()
    for name, field in serializer_class().fields.items():
        if isinstance(field, LabelsParam):
            data[name] = params.getlist(name)
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        name, errors = next(iter(serializer.errors.items()))
        raise ValidationFailed.for_field(name, str(errors[0]))
    return dict(serializer.validated_data)
