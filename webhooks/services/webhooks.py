"""Creating, changing and deleting an organization's webhooks."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inboxes.models import Inbox, Organization
from sendook.exceptions import ValidationFailed
from webhooks import signing, ssrf
from webhooks.exceptions import UnsafeWebhookUrl
from webhooks.models import Webhook
from webhooks.services.delivery import posting


@dataclass
class WebhookWithSecret:
    """A webhook as returned by create and by rotation: the one time its secret is shown."""

    webhook: Webhook
    secret: str
    warning: str = ""


def check_webhook_url(url: str) -> str:
    """Refuse URLs Sendook must never call (SSRF); delivery checks again every time.

    Returns a warning ("" if none): a host that does not resolve yet is accepted, because
    clients create webhooks before their DNS is live, and every delivery resolves and vets the
    address it connects to anyway. Literal private or metadata addresses, and names that do
    resolve to one, are refused here."""
    try:
        ssrf.check_url(
            url, allow_private=settings.SENDOOK_WEBHOOK_ALLOW_PRIVATE, resolver=posting.resolver
        )
    except ssrf.UnsafeUrlError as exc:
        if exc.reason == "unresolvable":
            return (
                f"{exc.message}; the webhook is saved, and each delivery resolves the host "
                "again (deliveries fail until it resolves to a public address)."
            )
        message = f"URL refused ({exc.reason}): {exc.message}"
        raise UnsafeWebhookUrl(message, fields={"url": [message]}) from None
    return ""


def _check_inbox_ids(
    organization: Organization, inbox_ids: list[str], *, visible: Collection[str] | None = None
) -> list[str]:
    """The organization's inboxes among `inbox_ids`; for a key limited to `visible` inboxes,
    at least one and only those (an "every inbox" webhook would deliver the others' mail)."""
    inbox_ids = list(dict.fromkeys(inbox_ids))
    if visible is not None and not inbox_ids:
        raise ValidationFailed.for_field(
            "inboxIds", "This API key is limited to some inboxes: list them in inboxIds"
        )
    known = set(
        Inbox.objects.filter(organization=organization, public_id__in=inbox_ids).values_list(
            "public_id", flat=True
        )
    )
    if visible is not None:
        known &= set(visible)
    unknown = [inbox_id for inbox_id in inbox_ids if inbox_id not in known]
    if unknown:
        raise ValidationFailed.for_field("inboxIds", f"Inbox not found: {', '.join(unknown)}")
    return inbox_ids


def create_webhook(
    organization: Organization,
    *,
    url: str,
    events: list[str],
    inbox_ids: list[str] | None = None,
    visible_inbox_ids: Collection[str] | None = None,
) -> WebhookWithSecret:
    """`visible_inbox_ids`: those of the API key creating it, when it is limited to some."""
    inbox_ids = _check_inbox_ids(organization, inbox_ids or [], visible=visible_inbox_ids)
    warning = check_webhook_url(url)
    secret = signing.generate_secret()
    webhook = Webhook.objects.create(
        organization=organization,
        url=url,
        events=list(dict.fromkeys(events)),
        inbox_ids=inbox_ids,
        secret=secret,
    )
    return WebhookWithSecret(webhook=webhook, secret=secret, warning=warning)


@dataclass
class WebhookChange:
    """What a PATCH did: the secret only when it was rotated (shown once), and a warning when
    the new URL's host does not resolve yet."""

    webhook: Webhook
    secret: str = ""
    warning: str = ""


@transaction.atomic
def update_webhook(
    webhook: Webhook,
    *,
    url: str | None = None,
    events: list[str] | None = None,
    inbox_ids: list[str] | None = None,
    enabled: bool | None = None,
    rotate_secret: bool = False,
    visible_inbox_ids: Collection[str] | None = None,
) -> WebhookChange:
    """Apply a PATCH (`visible_inbox_ids` as for create_webhook)."""
    warning = ""
    if url is not None and url != webhook.url:
        warning = check_webhook_url(url)
        webhook.url = url
    if events is not None:
        webhook.events = list(dict.fromkeys(events))
    if inbox_ids is not None:
        webhook.inbox_ids = _check_inbox_ids(
            webhook.organization, inbox_ids, visible=visible_inbox_ids
        )
    if enabled is not None and enabled != webhook.enabled:
        webhook.enabled = enabled
        if enabled:
            webhook.disabled_reason = ""
            webhook.disabled_at = None
        else:
            webhook.disabled_reason = "Disabled through the API."
            webhook.disabled_at = timezone.now()
    if rotate_secret:
        # The old secret stops working at once: deliveries sign with whatever is current.
        webhook.secret = signing.generate_secret()
    webhook.save()
    return WebhookChange(webhook, secret=webhook.secret if rotate_secret else "", warning=warning)


def delete_webhook(webhook: Webhook) -> Webhook:
    """Delete a webhook with its deliveries and attempts; queued tasks find nothing to do."""
    webhook.delete()
    return webhook
