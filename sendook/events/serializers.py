"""The API shape of an event: the envelope webhooks deliver."""

from typing import Any

from rest_framework import serializers

from sendook.api import ApiSerializer, Timestamp
from sendook.events.models import Event, EventType
from sendook.events.services import build_envelope


class EventSerializer(ApiSerializer):
    """The envelope webhooks deliver (fields declared for the OpenAPI schema)."""

    id = serializers.CharField()
    event = serializers.ChoiceField(choices=EventType.choices)
    created_at = Timestamp()
    organization_id = serializers.CharField()
    inbox_id = serializers.CharField(required=False)
    message_id = serializers.CharField(required=False)
    payload = serializers.DictField()

    def to_representation(self, instance: Event) -> dict[str, Any]:
        return build_envelope(instance)
