"""Customer webhooks, and the durable deliveries of the event log's events to them, attempt by
attempt."""

from django.db import models

from inboxes.models import Organization
from sendook.events.models import Event, EventType
from sendook.fields import PublicIdField

# What a webhook may list in `events`.
SUBSCRIBABLE_EVENT_TYPES = [value for value in EventType.values if value != EventType.WEBHOOK_TEST]


class Webhook(models.Model):
    public_id = PublicIdField(prefix="wh")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhooks"
    )
    # Stored and echoed exactly as given, as clients compare it; vetted for SSRF at create and every delivery.
    url = models.CharField(max_length=2048)
    events = models.JSONField(default=list)
    # Empty: every inbox. Otherwise only events about these inboxes (public ids).
    inbox_ids = models.JSONField(default=list, blank=True)
    # Kept readable because every delivery is an HMAC keyed with it; never shown after create.
    secret = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "id"], name="webhook_org_order")]

    def __str__(self) -> str:
        return f"{self.url} ({self.public_id})"

    def wants(self, event: Event) -> bool:
        """Whether this webhook subscribes to `event` (its type, and its inbox if filtered)."""
        if event.type not in self.events:
            return False
        return not self.inbox_ids or event.inbox_public_id in self.inbox_ids


class Delivery(models.Model):
    """One event on its way to one webhook. The retry schedule lives here, in next_attempt_at."""

    class Status(models.TextChoices):
        PENDING = "pending"  # not attempted yet, or a retry was asked for
        FAILED = "failed"  # the last attempt failed; another is scheduled at next_attempt_at
        SUCCEEDED = "succeeded"
        DEAD = "dead"  # no more attempts: schedule exhausted, or the webhook is disabled/gone

    public_id = PublicIdField(prefix="whdlv")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the periodic sweep should (re)consider this delivery; null once it is final.
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Set while a worker holds the delivery in a batch, its HTTP post made outside any
    # transaction; next_attempt_at is then the lease's expiry, after which the sweep takes the
    # delivery back (a killed worker). Only the holder of the lease may record the attempt.
    lease = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "webhook"], name="delivery_one_per_event_webhook"
            )
        ]
        indexes = [
            models.Index(fields=["webhook", "id"], name="delivery_webhook_order"),
            # A worker's batch: a webhook's open deliveries, oldest first, without walking
            # past the (many) finished ones.
            models.Index(
                fields=["webhook", "id"],
                name="delivery_webhook_open",
                condition=models.Q(status__in=["pending", "failed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"


class DeliveryAttempt(models.Model):
    public_id = PublicIdField(prefix="whatt")
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    # Denormalized from the delivery so a webhook's attempts list is one indexed scan.
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="attempts")
    attempt = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    error = models.CharField(max_length=1000, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["webhook", "id"], name="attempt_webhook_order")]

    def __str__(self) -> str:
        return f"{self.public_id} #{self.attempt} ({self.status_code or self.error})"
