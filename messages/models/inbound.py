"""What arrives before it is a message (the raw inbound record) and who may send or receive:
suppressed recipients, allow/block list entries."""

from django.db import models

from inboxes.models import Inbox, Organization
from sendook.fields import PublicIdField


class Suppression(models.Model):
    """An address this organization must not send to (hard bounce, complaint, or by hand)."""

    class Reason(models.TextChoices):
        BOUNCE = "bounce"
        COMPLAINT = "complaint"
        MANUAL = "manual"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="suppressions"
    )
    # Stored lower-cased.
    email = models.CharField(max_length=320)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"], name="suppression_unique_email"
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"


class InboundEmail(models.Model):
    """A raw message as it arrived, stored before anything else so nothing is ever lost.

    The pipeline parses it into one Message per hosted recipient inbox; a record that cannot be
    parsed is quarantined (raw kept, reprocessable from the admin).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSED = "processed"
        QUARANTINED = "quarantined"
        FAILED = "failed"

    public_id = PublicIdField(prefix="inb")
    # "ses_sns", "ses_s3", "anymail:<esp>", "smtp", "cli", "local".
    source = models.CharField(max_length=40)
    # For mail received over SMTP (Sendook is the receiving MTA there): the connecting
    # address, the HELO name and the envelope sender, which SPF is checked against.
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    helo = models.CharField(max_length=255, blank=True)
    mail_from = models.CharField(max_length=320, blank=True)
    # The provider's id for this delivery (SNS MessageId, ...): redeliveries are deduplicated.
    provider_notification_id = models.CharField(max_length=255, blank=True)
    envelope_recipients = models.JSONField(default=list, blank=True)
    raw = models.FileField(upload_to="inbound/%Y/%m/%d", max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    # Provider-reported verdicts ({"spf": "pass", "spam": "fail"}), applied to the messages.
    verdicts = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    quarantine_reason = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    unknown_recipients = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "inbound email"
        constraints = [
            models.UniqueConstraint(
                fields=["provider_notification_id"],
                condition=~models.Q(provider_notification_id=""),
                name="inbound_unique_notification_id",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-id"], name="inbound_status_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.source}, {self.status})"


class ListEntry(models.Model):
    """An allow or block list entry (API.md, Trust): for receiving or for sending, for the whole
    organization (inbox empty) or one inbox, by address (`a@b.example`) or domain (`b.example`,
    subdomains included)."""

    class Direction(models.TextChoices):
        RECEIVE = "receive"
        SEND = "send"

    class Kind(models.TextChoices):
        ALLOW = "allow"
        BLOCK = "block"

    public_id = PublicIdField(prefix="list")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    inbox = models.ForeignKey(
        Inbox, null=True, blank=True, on_delete=models.CASCADE, related_name="list_entries"
    )
    direction = models.CharField(max_length=8, choices=Direction.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # Lower-cased address or domain (IDNA domains as A-labels).
    value = models.CharField(max_length=320)
    created_by = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "list entries"
        indexes = [
            models.Index(fields=["organization", "direction", "value"], name="list_lookup"),
            models.Index(fields=["organization", "-id"], name="list_org_newest"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "direction", "kind", "value"],
                condition=models.Q(inbox__isnull=True),
                name="list_unique_org_entry",
            ),
            models.UniqueConstraint(
                fields=["organization", "inbox", "direction", "kind", "value"],
                condition=models.Q(inbox__isnull=False),
                name="list_unique_inbox_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.kind} {self.value}"
