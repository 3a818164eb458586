"""The event log's one table (named webhooks_event, where it was created)."""

from typing import Any

from django.conf import settings
from django.db import models

from sendook.fields import PublicIdField

# settings.SENDOOK_ORGANIZATION_MODEL, which the kernel never imports: to the kernel's code an
# organization is any saved row with a pk and a public_id.
Organization = Any


class EventType(models.TextChoices):
    INBOX_CREATED = "inbox.created"
    INBOX_UPDATED = "inbox.updated"
    INBOX_DELETED = "inbox.deleted"
    MESSAGE_SENT = "message.sent"
    MESSAGE_RECEIVED = "message.received"
    MESSAGE_DELIVERED = "message.delivered"
    MESSAGE_BOUNCED = "message.bounced"
    MESSAGE_COMPLAINED = "message.complained"
    MESSAGE_REJECTED = "message.rejected"
    MESSAGE_FAILED = "message.failed"
    # Supervision: a send held for a person, the decisions on it, and sends set for later.
    MESSAGE_PENDING_APPROVAL = "message.pending_approval"
    MESSAGE_APPROVED = "message.approved"
    MESSAGE_DECLINED = "message.declined"
    MESSAGE_CANCELLED = "message.cancelled"
    MESSAGE_SCHEDULED = "message.scheduled"
    # Drafts (payload: the draft as a Message object; for deleted, as it was).
    DRAFT_CREATED = "draft.created"
    DRAFT_UPDATED = "draft.updated"
    DRAFT_DELETED = "draft.deleted"
    # The organization or an inbox paused / resumed sending (payload: the switch and who).
    SENDING_PAUSED = "sending.paused"
    SENDING_RESUMED = "sending.resumed"
    # Shared threads: status, assignee or labels changed (payload: the thread and `changes`),
    # and an internal note written (payload: the note).
    THREAD_UPDATED = "thread.updated"
    NOTE_CREATED = "note.created"
    # Trust: received mail from a blocked sender (instead of message.received), and such a
    # message released by a person (then message.received follows, once).
    MESSAGE_BLOCKED = "message.blocked"
    MESSAGE_RELEASED = "message.released"
    DOMAIN_VERIFIED = "domain.verified"
    # A verified domain failed its checks for SENDOOK_DOMAIN_GRACE_HOURS (or another
    # organization proved control after that): sends from it stop.
    DOMAIN_UNVERIFIED = "domain.unverified"
    # Told to the organization (the feed and its other webhooks) when Sendook disables a webhook.
    WEBHOOK_DISABLED = "webhook.disabled"
    # Sent only by POST /v1/webhooks/{id}/test, only to that webhook; nobody subscribes to it.
    WEBHOOK_TEST = "webhook.test"


class Event(models.Model):
    public_id = PublicIdField(prefix="evt")
    organization = models.ForeignKey(
        settings.SENDOOK_ORGANIZATION_MODEL, on_delete=models.CASCADE, related_name="events"
    )
    type = models.CharField(max_length=40, choices=EventType.choices)
    # Public ids rather than foreign keys: the log outlives the inboxes and messages it names.
    inbox_public_id = models.CharField(max_length=40, blank=True)
    message_public_id = models.CharField(max_length=40, blank=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    # The feed's order: numbered after commit, in commit order (services.sequence_events),
    # so a consumer paging with `after` never skips an event that committed late.
    feed_seq = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        # The table keeps the name it was created with when the log lived in webhooks.
        db_table = "webhooks_event"
        indexes = [
            models.Index(fields=["organization", "id"], name="event_org_order"),
            models.Index(
                fields=["id"], condition=models.Q(feed_seq__isnull=True), name="event_unsequenced"
            ),
        ]
        constraints = [
            # Numbered per organization: reading one organization's feed never writes another's.
            # Also the feed's index.
            models.UniqueConstraint(
                fields=["organization", "feed_seq"], name="event_feed_seq_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"
