"""The event log (an outbox written in the same transaction as the change it reports)."""

from django.db import models

from inboxes.models import Organization
from sendook.fields import PublicIdField


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


class Event(models.Model):
    public_id = PublicIdField(prefix="evt")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=40, choices=EventType.choices)
    # Public ids rather than foreign keys: the log outlives the inboxes and messages it names.
    inbox_public_id = models.CharField(max_length=40, blank=True)
    message_public_id = models.CharField(max_length=40, blank=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "id"], name="event_org_order")]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"
