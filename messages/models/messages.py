"""Messages, their correspondents and attachments. Bytes (raw MIME, attachment content) live in
Django's storage (local files by default, any storage backend in production), never in table rows."""

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Lower

from inboxes.models import Inbox, Organization
from messages.models.threads import Thread
from sendook.fields import PublicIdField


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
