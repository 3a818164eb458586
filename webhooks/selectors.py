"""Organization-scoped reads. Another organization's id is indistinguishable from a missing one;
so is, for a key limited to `inbox_ids`, a webhook not limited to (some of) those inboxes: the
others, "every inbox" ones included, deliver other inboxes' mail."""

from collections.abc import Collection

from django.db.models import QuerySet

from inboxes.models import Organization
from webhooks.exceptions import DeliveryNotFound, WebhookNotFound
from webhooks.models import Delivery, DeliveryAttempt, Webhook


def list_webhooks(
    organization: Organization, *, inbox_ids: Collection[str] | None = None
) -> QuerySet[Webhook]:
    rows = Webhook.objects.filter(organization=organization).select_related("organization")
    if inbox_ids is None:
        return rows
    # A few webhooks per organization: compared here rather than as JSON containment in SQL,
    # which SQLite and PostgreSQL spell differently.
    visible = set(inbox_ids)
    pks = [
        pk
        for pk, targets in rows.values_list("pk", "inbox_ids")
        if targets and set(targets) <= visible
    ]
    return rows.filter(pk__in=pks)


def get_webhook(
    organization: Organization, webhook_id: str, *, inbox_ids: Collection[str] | None = None
) -> Webhook:
    try:
        return list_webhooks(organization, inbox_ids=inbox_ids).get(public_id=webhook_id)
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
