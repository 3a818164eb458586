"""Fan-out: the event log's subscriber that gives each new event one delivery row per webhook
that wants it (registered in WebhooksConfig.ready())."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists
from django.db.models.expressions import BaseExpression
from django.utils import timezone

from sendook.events.models import Event
from webhooks.models import Delivery, Webhook
from webhooks.services.delivery import queueing


class WebhookSubscriber:
    def listening(self, organization: Any) -> BaseExpression:
        return Exists(Webhook.objects.filter(organization=organization, enabled=True))

    def event_recorded(self, event: Event) -> None:
        webhooks = Webhook.objects.filter(organization=event.organization_id, enabled=True)
        fan_out(event, [webhook for webhook in webhooks if webhook.wants(event)])


def fan_out(event: Event, webhooks: list[Webhook]) -> list[Delivery]:
    """One delivery row per webhook, queued for workers once the caller's transaction commits."""
    if not webhooks:
        return []
    # The queued task is the first attempt; if it is lost (broker restart, killed worker) the
    # sweep finds the row once this claim has lapsed.
    claim = timezone.now() + timedelta(seconds=settings.SENDOOK_WEBHOOK_CLAIM_SECONDS)
    deliveries = [
        Delivery.objects.create(event=event, webhook=webhook, next_attempt_at=claim)
        for webhook in webhooks
    ]
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: queueing.enqueue_deliveries([(pk, 0) for pk in ids]))
    return deliveries


# The one instance WebhooksConfig.ready() registers.
subscriber = WebhookSubscriber()
