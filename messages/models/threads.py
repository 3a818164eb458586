"""Threads and the work on them: status and assignment, internal notes, the activity timeline."""

from django.db import models

from inboxes.models import ApiKey, Inbox, Membership, Organization
from sendook.fields import PublicIdField


class ThreadStatus(models.TextChoices):
    """Where a conversation stands for the people and agents working it (API.md, Shared threads).

    New inbound mail reopens a closed or snoozed thread; a sweep wakes snoozed threads whose
    `snoozed_until` has passed.
    """

    OPEN = "open"
    PENDING = "pending"
    CLOSED = "closed"
    SNOOZED = "snoozed"


class Thread(models.Model):
    public_id = PublicIdField(prefix="thread")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="threads")
    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="threads")
    subject = models.TextField(blank=True)
    # Subject without Re:/Fwd: prefixes, lower-cased: the fallback threading key.
    normalized_subject = models.TextField(blank=True)
    participants = models.JSONField(default=list, blank=True)
    labels = models.JSONField(default=list, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    preview = models.CharField(max_length=200, blank=True)
    # The public id of the newest message (API `lastMessageId`): what a reply's
    # `expectedLastMessageId` is compared with. Kept by services.threads._summarize.
    last_message_public_id = models.CharField(max_length=40, blank=True)
    status = models.CharField(
        max_length=10, choices=ThreadStatus.choices, default=ThreadStatus.OPEN
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # The assignee is a member of the organization or one of its API keys (an agent), never
    # both (constraint below). A member who leaves or a key deleted leaves the thread unassigned.
    assignee_member = models.ForeignKey(
        Membership,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_threads",
    )
    assignee_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_threads"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["inbox", "-last_message_at", "-id"], name="thread_inbox_activity"),
            models.Index(
                fields=["organization", "-last_message_at", "-id"], name="thread_org_activity"
            ),
            models.Index(fields=["inbox", "normalized_subject"], name="thread_inbox_subject"),
            # The staff UI's views (All open, Pending, Snoozed, Closed) and ?status= filters.
            models.Index(
                fields=["organization", "status", "-last_message_at", "-id"],
                name="thread_org_status_activity",
            ),
            models.Index(
                fields=["inbox", "status", "-last_message_at", "-id"],
                name="thread_inbox_status_activity",
            ),
            # "Mine" and ?assignee=<id>.
            models.Index(
                fields=["assignee_member", "-last_message_at", "-id"], name="thread_member_activity"
            ),
            models.Index(
                fields=["assignee_key", "-last_message_at", "-id"], name="thread_key_activity"
            ),
            # The snooze sweep: partial, so it holds only the snoozed few.
            models.Index(
                fields=["snoozed_until"],
                condition=models.Q(status="snoozed"),
                name="thread_snoozed_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(assignee_member__isnull=True)
                | models.Q(assignee_key__isnull=True),
                name="thread_one_assignee",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="snoozed") | models.Q(snoozed_until__isnull=False),
                name="thread_snoozed_has_until",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or self.public_id


class Note(models.Model):
    """An internal note on a thread: seen by the organization's people and agents, never sent."""

    public_id = PublicIdField(prefix="note")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="notes")
    # The actor who wrote it (services.provenance), as it was at the time.
    author = models.JSONField(default=dict)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["thread", "id"], name="note_thread_order")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.text[:50]}"


class ThreadActivity(models.Model):
    """What someone did to a thread that is not a message or a note: a status change, an
    assignment, labels added or removed. The activity timeline merges these with the thread's
    messages, notes, holds and approvals."""

    class Kind(models.TextChoices):
        STATUS = "status"
        ASSIGNMENT = "assignment"
        LABELS = "labels"

    public_id = PublicIdField(prefix="act")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="activity")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.JSONField(default=dict)
    # What changed, e.g. {"status": {"from": "open", "to": "closed"}}.
    changes = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "thread activity"
        indexes = [models.Index(fields=["thread", "id"], name="activity_thread_order")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.thread_id}"


class ThreadRule(models.TextChoices):
    """How an inbound message found its thread."""

    IN_REPLY_TO = "in_reply_to"
    REFERENCES = "references"
    SUBJECT = "subject"
    NEW = "new"
