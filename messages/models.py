"""Threads, messages and attachments. Bytes (raw MIME, attachment content) live in Django's
storage (local files by default, any storage backend in production), never in table rows."""

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Lower

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


class Message(models.Model):
    class Direction(models.TextChoices):
        OUTBOUND = "outbound"
        INBOUND = "inbound"

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENT = "sent"
        DELIVERED = "delivered"
        BOUNCED = "bounced"
        COMPLAINED = "complained"
        REJECTED = "rejected"
        FAILED = "failed"
        RECEIVED = "received"
        # Supervision (messages/services/policies.py, approvals.py): a send accepted but not
        # yet handed to the worker, and the two ways it ends without reaching the provider.
        SCHEDULED = "scheduled"
        PENDING_APPROVAL = "pending_approval"
        DECLINED = "declined"
        CANCELLED = "cancelled"
        # Written but not sent (messages/services/drafts.py): never handed to the worker.
        DRAFT = "draft"
        # Received from a sender on a receive block list: stored (raw kept), not delivered as
        # message.received, not listed or counted unread by default, until a person releases it.
        BLOCKED = "blocked"

    public_id = PublicIdField(prefix="msg")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="messages"
    )
    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="messages")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    # Why a message failed / bounced, and provider details (bounce type, diagnostic code).
    status_reason = models.TextField(blank=True)
    status_detail = models.JSONField(default=dict, blank=True)

    from_inbox = models.ForeignKey(
        Inbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_inbox = models.ForeignKey(
        Inbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_email = models.CharField(max_length=320)
    from_name = models.CharField(max_length=200, blank=True)
    to = models.JSONField(default=list, blank=True)
    cc = models.JSONField(default=list, blank=True)
    bcc = models.JSONField(default=list, blank=True)
    reply_to = models.JSONField(default=list, blank=True)
    subject = models.TextField(blank=True)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    extracted_text = models.TextField(blank=True)
    labels = models.JSONField(default=list, blank=True)
    # Inbound only: SPF/DKIM/DMARC/spam/virus verdicts the provider gave, e.g. {"spf": "pass"}.
    verdicts = models.JSONField(default=dict, blank=True)
    # What an agent may believe about a received message (API.md, Trust): authenticated,
    # firstContact, lookalikeOf, listed. Computed by Sendook when the message is stored.
    trust = models.JSONField(default=dict, blank=True)
    # Inbound only: which rule put the message in its thread (ThreadRule).
    thread_rule = models.CharField(max_length=16, blank=True)
    inbound_email = models.ForeignKey(
        "InboundEmail", on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )

    # RFC 5322 identity and threading headers, with angle brackets: "<msg_…@domain>".
    message_id = models.CharField(max_length=998, blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.JSONField(default=list, blank=True)
    external_message_id = models.CharField(max_length=255, blank=True)

    # Provenance, each {"type": "api_key"|"user"|"inbound"|"system", "id", "name"} as it was
    # when it happened (a key renamed or revoked later does not rewrite history); {} = unknown
    # (messages stored before provenance was recorded).
    created_by = models.JSONField(default=dict, blank=True)
    approved_by = models.JSONField(default=dict, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    declined_by = models.JSONField(default=dict, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    # Who sent a draft, when not its author (an agent drafts, a person finishes and sends).
    sent_by = models.JSONField(default=dict, blank=True)
    # Why a send was held, {"reason", "recipients"}; kept after approval for the record.
    hold = models.JSONField(default=dict, blank=True)
    # What the sender wrote, when an approver edited it: {originalSubject, originalText,
    # originalHtml}.
    review = models.JSONField(default=dict, blank=True)
    # A scheduled message is handed to the worker by the sweep once this has passed.
    send_at = models.DateTimeField(null=True, blank=True)

    raw = models.FileField(upload_to="raw/%Y/%m/%d", max_length=255, blank=True)
    send_attempts = models.PositiveIntegerField(default=0)
    # Set while a transient provider failure waits for its retry; the sweep leaves it alone
    # until then.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set (and committed) just before the provider is called, cleared when its answer is
    # recorded: a message still claimed after SENDOOK_SEND_CLAIM_SECONDS may have gone out.
    send_claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    is_read = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Full-text search (messages/search.py). On PostgreSQL a trigger fills it and a GIN index
    # serves it (migration 0003); on other backends it stays empty and search uses icontains.
    search_vector = SearchVectorField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["inbox", "-id"], name="message_inbox_newest"),
            models.Index(fields=["thread", "id"], name="message_thread_order"),
            models.Index(fields=["organization", "message_id"], name="message_org_rfc_id"),
            models.Index(fields=["external_message_id"], name="message_provider_id"),
            models.Index(fields=["status", "updated_at"], name="message_status_sweep"),
            # Search across an organization's inboxes, newest first (messages/search.py).
            models.Index(fields=["organization", "-created_at", "-id"], name="message_org_newest"),
            # Unread state in the staff UI (per-inbox counts, the thread list's unread mark):
            # partial, so they stay small as mail gets read.
            models.Index(
                fields=["organization", "inbox", "thread"],
                condition=models.Q(is_read=False, direction="inbound"),
                name="message_unread_by_inbox",
            ),
            models.Index(
                fields=["thread"],
                condition=models.Q(is_read=False, direction="inbound"),
                name="message_unread_by_thread",
            ),
            # The approval queue (GET /v1/approvals, oldest first) and the scheduled-send
            # sweep: partial, so they hold only the few messages waiting.
            models.Index(
                fields=["organization", "id"],
                condition=models.Q(status="pending_approval"),
                name="message_pending_approval",
            ),
            models.Index(
                fields=["send_at"],
                condition=models.Q(status="scheduled"),
                name="message_scheduled_due",
            ),
            # Drafts (messages/services/drafts.py): an inbox's list, newest first, and the
            # staff UI's count per organization. Partial: drafts are few beside sent mail.
            models.Index(
                fields=["organization", "inbox", "-id"],
                condition=models.Q(status="draft"),
                name="message_drafts",
            ),
            # "Has this inbox received mail from X?" (the first_contact policy,
            # messages/services/correspondents.py).
            models.Index(
                "inbox",
                Lower("from_email"),
                condition=models.Q(direction="inbound"),
                name="message_inbound_sender",
            ),
        ]
        constraints = [
            # The same mail delivered twice (provider retries, two routes) is one message per
            # inbox. Outbound rows are exempt: their Message-IDs are ours and already unique.
            models.UniqueConstraint(
                fields=["inbox", "message_id"],
                condition=models.Q(direction="inbound") & ~models.Q(message_id=""),
                name="message_inbound_unique_rfc_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.subject[:50]}"


class Correspondent(models.Model):
    """An address an inbox has sent to: with the senders of its inbound messages, what the
    `first_contact` send policy asks about (messages/services/correspondents.py), on the
    (inbox, email) unique index instead of a scan of messages' recipient lists. Written when
    a send is handed to the worker."""

    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="+")
    # The bare address, lower-cased.
    email = models.CharField(max_length=320)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["inbox", "email"], name="correspondent_unique_email")
        ]

    def __str__(self) -> str:
        return self.email


class Attachment(models.Model):
    public_id = PublicIdField(prefix="att")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField(default=0)
    content_id = models.CharField(max_length=255, blank=True)
    inline = models.BooleanField(default=False)
    file = models.FileField(upload_to="attachments/%Y/%m/%d", max_length=255)
    # Text extracted for the agent context view (messages/services/context.py): filled the
    # first time it is asked for; `text_status` is "" (not yet), "ok" or "unavailable: <reason>".
    text = models.TextField(blank=True)
    text_status = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["message", "id"], name="attachment_message_order")]

    def __str__(self) -> str:
        return self.filename


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
