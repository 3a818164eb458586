"""camelCase JSON with `id`/`_id`, millisecond UTC timestamps, unset optionals omitted
(`ApiModelSerializer` / `ApiSerializer`), and the input fields every endpoint shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import models
from rest_framework import serializers


def to_camel(name: str) -> str:
    if name.startswith("_") or "_" not in name:
        return name
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def format_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Timestamp(serializers.DateTimeField):
    """ISO 8601 UTC with milliseconds: 2026-11-21T10:00:00.000Z."""

    def to_representation(self, value: datetime | None) -> str | None:
        return format_timestamp(value) if value else None


class CamelCaseMixin:
    """Fields are declared snake_case in Python and appear camelCase on the wire.

    Renaming here (rather than in a renderer) means input, output, validation errors and the
    OpenAPI schema all agree without any per-field work.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # type: ignore[misc]
        renamed = {}
        for name, field in fields.items():
            camel = to_camel(name)
            if camel != name and field.source is None:
                field.source = name
            renamed[camel] = field
        return renamed

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)  # type: ignore[misc]
        # Unset optional fields are left out rather than sent as null, as the original did.
        return {key: value for key, value in data.items() if value is not None}


class OptionalText(serializers.CharField):
    """An output string that is omitted when empty, like every unset optional: the original's
    SDK tests check an inbox made without a name has no `name` at all."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:
        return str(value) if value else None


class ApiSerializer(CamelCaseMixin, serializers.Serializer):
    """Input shapes and hand-built outputs."""


class ApiModelSerializer(CamelCaseMixin, serializers.ModelSerializer):
    """Output shapes of model rows: `id` and its compatibility alias `_id` come first."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: Timestamp,
    }
    id = serializers.CharField(source="public_id", read_only=True)
    _id = serializers.CharField(source="public_id", read_only=True)


class Text(serializers.CharField):
    """A string input that is a JSON string: DRF's CharField would quietly turn 5 into "5"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBoolean(serializers.BooleanField):
    """Only JSON true/false: DRF's BooleanField would also take "yes", 1 and "on"."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def validate_no_control_chars(value: str) -> str:
    """Header values must never carry a line break or NUL (header injection). Line breaks are
    what str.splitlines() breaks on (also \\v, \\f, \\x1c-\\x1e, \\x85, U+2028, U+2029): the
    stdlib's email policy refuses those in a header when the message is built."""
    if "\x00" in value or len(f"a{value}a".splitlines()) > 1 or _encoded_line_break(value):
        raise serializers.ValidationError("Must not contain line breaks or NUL characters.")
    return value


def _encoded_line_break(value: str) -> bool:
    """An RFC 2047 encoded word hiding a line break (`=?utf-8?q?a=0D=0AX-Evil:_1?=`): the
    stdlib decodes those when a header is built (also when the word touches other text) and
    writes the raw CRLF. Decoded here exactly as the email policy that builds our mail does;
    a value that policy cannot decode is refused too."""
    if "=?" not in value:
        return False
    import email.policy

    try:
        decoded = str(email.policy.SMTP.header_factory("X-Sendook-Check", value))
    except Exception:  # the stdlib could not read it either: never let it near a header
        return True
    return "\x00" in decoded or len(f"a{decoded}a".splitlines()) > 1
