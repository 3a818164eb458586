"""Organization-scoped reads. Another organization's id is indistinguishable from a missing one."""

from django.db.models import QuerySet

from inboxes.models import Organization
from webhooks.exceptions import DeliveryNotFound, EventNotFound, WebhookNotFound
from webhooks.models import Delivery, DeliveryAttempt, Event, EventType, Webhook


def list_events(organization: Organization, *, after: str | None = None) -> QuerySet[Event]:
    """The numbered feed in commit order (feed_seq): every event but the test pings, which only
    concern the webhook they tested. services.events.read_feed numbers new events first."""
    rows = Event.objects.filter(organization=organization, feed_seq__isnull=False).exclude(
        type=EventType.WEBHOOK_TEST
    )
    if after:
        seq = get_event(organization, after).feed_seq
        if seq is not None:  # not numbered yet: it committed after the numbering
            rows = rows.filter(feed_seq__gt=seq)
        else:
            rows = rows.none()
    return rows.select_related("organization")


def get_event(organization: Organization, event_id: str) -> Event:
    try:
        return Event.objects.select_related("organization").get(
            organization=organization, public_id=event_id
        )
    except Event.DoesNotExist:
        raise EventNotFound() from None


def list_webhooks(organization: Organization) -> QuerySet[Webhook]:
    return Webhook.objects.filter(organization=organization).select_related("organization")


def get_webhook(organization: Organization, webhook_id: str) -> Webhook:
    try:
        return list_webhooks(organization).get(public_id=webhook_id)
    except Webhook.DoesNotExist:
        raise WebhookNotFound() from None


def list_attempts(webhook: Webhook) -> QuerySet[DeliveryAttempt]:
    return DeliveryAttempt.objects.filter(webhook=webhook).select_related(
        "delivery__event", "webhook"
    )


def list_deliveries(webhook: Webhook) -> QuerySet[Delivery]:
    return Delivery.objects.filter(webhook=webhook).select_related("event", "webhook")


def get_delivery(webhook: Webhook, delivery_or_event_id: str) -> Delivery:
    """A delivery of `webhook`, by its own id or by the id of the event it carries."""
    field = "public_id" if delivery_or_event_id.startswith("whdlv_") else "event__public_id"
    try:
        return list_deliveries(webhook).get(**{field: delivery_or_event_id})
    except Delivery.DoesNotExist:
        raise DeliveryNotFound() from None
