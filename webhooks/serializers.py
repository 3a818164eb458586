"""API shapes of webhooks, deliveries and attempts."""

from typing import Any

from rest_framework import serializers

from sendook.api import ApiModelSerializer, ApiSerializer, OptionalText, Text
from webhooks.models import SUBSCRIBABLE_EVENT_TYPES, Delivery, DeliveryAttempt, Webhook


class StrictBoolean(serializers.BooleanField):
    """Only JSON true/false: DRF's BooleanField would also take "yes", 1 and "on"."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class WebhookSerializer(ApiModelSerializer):
    organization_id = serializers.CharField(source="organization.public_id", read_only=True)
    events = serializers.ListField(child=serializers.CharField(), read_only=True)
    inbox_ids = serializers.ListField(child=serializers.CharField(), read_only=True)
    disabled_reason = OptionalText(read_only=True)
    # Set by create/update when the URL's host does not resolve yet (never stored).
    warning = OptionalText(default="")

    class Meta:
        model = Webhook
        fields = [
            "id",
            "_id",
            "organization_id",
            "url",
            "events",
            "inbox_ids",
            "enabled",
            "disabled_reason",
            "disabled_at",
            "created_at",
            "updated_at",
            "warning",
        ]


class WebhookWithSecretSerializer(WebhookSerializer):
    """Create and rotation responses: the only times the signing secret is shown."""

    secret = serializers.CharField(read_only=True)

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


def validate_event_types(values: list[str]) -> list[str]:
    unknown = [value for value in values if value not in SUBSCRIBABLE_EVENT_TYPES]
    if unknown:
        raise serializers.ValidationError(
            f"Unknown event type(s): {', '.join(unknown)}. "
            f"Known: {', '.join(SUBSCRIBABLE_EVENT_TYPES)}."
        )
    return values


class WebhookCreateInput(ApiSerializer):
    url = Text(max_length=2048)
    events = serializers.ListField(
        child=Text(max_length=40),
        allow_empty=False,
        max_length=50,
        validators=[validate_event_types],
    )
    inbox_ids = serializers.ListField(
        child=Text(max_length=40), required=False, max_length=100, default=list
    )


class WebhookUpdateInput(ApiSerializer):
    url = Text(max_length=2048)
    events = serializers.ListField(
        child=Text(max_length=40),
        allow_empty=False,
        max_length=50,
        validators=[validate_event_types],
    )
    inbox_ids = serializers.ListField(child=Text(max_length=40), max_length=100)
    enabled = StrictBoolean()
    rotate_secret = StrictBoolean()


class DeliverySerializer(ApiModelSerializer):
    webhook_id = serializers.CharField(source="webhook.public_id", read_only=True)
    event_id = serializers.CharField(source="event.public_id", read_only=True)
    event_type = serializers.CharField(source="event.type", read_only=True)
    last_error = OptionalText(read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "_id",
            "webhook_id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
            "updated_at",
        ]


class AttemptSerializer(ApiModelSerializer):
    webhook_id = serializers.CharField(source="webhook.public_id", read_only=True)
    delivery_id = serializers.CharField(source="delivery.public_id", read_only=True)
    event_id = serializers.CharField(source="delivery.event.public_id", read_only=True)
    event_type = serializers.CharField(source="delivery.event.type", read_only=True)
    delivery_status = serializers.CharField(source="delivery.status", read_only=True)
    error = OptionalText(read_only=True)
    response_excerpt = OptionalText(read_only=True)

    class Meta:
        model = DeliveryAttempt
        fields = [
            "id",
            "_id",
            "webhook_id",
            "delivery_id",
            "event_id",
            "event_type",
            "attempt",
            "succeeded",
            "status_code",
            "error",
            "duration_ms",
            "response_excerpt",
            "next_retry_at",
            "delivery_status",
            "created_at",
        ]


class PingAttemptSerializer(AttemptSerializer):
    """POST /v1/webhooks/{id}/test: the ping's attempt. `success` repeats `succeeded` for the
    original Sendook's clients, which read it (sendook-mcp reports a ping without it as failed)."""

    success = serializers.BooleanField(source="succeeded", read_only=True)

    class Meta(AttemptSerializer.Meta):
        fields = [*AttemptSerializer.Meta.fields, "success"]
