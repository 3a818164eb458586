"""API shapes of supervision: provenance, holds, reviews, scheduled sends and the approval
queue's inputs, and the part of the Message object's schema they add."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from messages.services.policies import HoldReason
from sendook.api import ApiSerializer, Text, Timestamp, validate_no_control_chars


class SendAtField(serializers.DateTimeField):
    """ISO 8601; in the future, at most SENDOOK_MAX_SEND_AT_DAYS ahead."""

    def to_internal_value(self, value: Any) -> Any:
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        when = super().to_internal_value(value)
        now = timezone.now()
        if when <= now:
            raise serializers.ValidationError("Must be in the future.")
        days = settings.SENDOOK_MAX_SEND_AT_DAYS
        if when > now + timedelta(days=days):
            raise serializers.ValidationError(f"Must be at most {days} days ahead.")
        return when


class ActorSerializer(ApiSerializer):
    type = serializers.ChoiceField(choices=["api_key", "user", "inbound", "system"])
    id = serializers.CharField()
    name = serializers.CharField()


class HoldSerializer(ApiSerializer):
    reason = serializers.ChoiceField(choices=list(HoldReason.ALL))
    recipients = serializers.ListField(child=serializers.CharField())


class ReviewSerializer(ApiSerializer):
    original_subject = serializers.CharField()
    original_text = serializers.CharField()
    original_html = serializers.CharField()


class MessageSupervisionFields(ApiSerializer):
    """Fields of the Message object that only held, scheduled or decided messages carry:
    documented here rather than declared on MessageSerializer, whose declared fields are the
    ones every sent message renders (a test keeps them in step)."""

    hold = HoldSerializer(read_only=True)
    send_at = Timestamp(read_only=True)
    # Who sent a draft someone else wrote.
    sent_by = ActorSerializer(read_only=True)
    approved_by = ActorSerializer(read_only=True)
    approved_at = Timestamp(read_only=True)
    declined_by = ActorSerializer(read_only=True)
    declined_at = Timestamp(read_only=True)
    review = ReviewSerializer(read_only=True)


class MessageSchema(OpenApiSerializerExtension):
    target_class = "messages.api.serializers.MessageSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        extra = auto_schema._map_serializer(MessageSupervisionFields, direction)
        schema.setdefault("properties", {}).update(extra.get("properties", {}))
        return schema


# --- input ----------------------------------------------------------------------------------


class ApproveInput(ApiSerializer):
    """Optional edits: validated like a send's (no header injection in the subject)."""

    subject = Text(
        max_length=998, required=False, allow_blank=True, validators=[validate_no_control_chars]
    )
    text = Text(required=False, allow_blank=True, trim_whitespace=False)
    html = Text(required=False, allow_blank=True, trim_whitespace=False)


class RejectInput(ApiSerializer):
    reason = Text(
        max_length=1000, required=False, allow_blank=True, validators=[validate_no_control_chars]
    )


class ReleaseInput(ApiSerializer):
    inbox_id = Text(max_length=255, required=False)
