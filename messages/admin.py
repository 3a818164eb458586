from django.contrib import admin
from django.utils.html import format_html

from messages.inbound.admin import InboundEmailAdmin  # noqa: F401  (registers it)
from messages.models import Attachment, Message, Suppression, Thread
from messages.services.authentication import VERDICTS

RAW_PREVIEW_BYTES = 200_000


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ["public_id", "filename", "content_type", "size", "inline"]
    readonly_fields = ["public_id", "filename", "content_type", "size", "inline"]
    can_delete = False


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "subject",
        "inbox",
        "organization",
        "message_count",
        "last_message_at",
    ]
    search_fields = ["public_id", "subject", "inbox__email", "organization__name"]
    list_filter = [("last_message_at", admin.DateFieldListFilter)]
    readonly_fields = [f.name for f in Thread._meta.fields]
    list_select_related = ["inbox", "organization"]


class DmarcVerdictFilter(admin.SimpleListFilter):
    """Received messages by the DMARC verdict Sendook stored (a JSON key lookup, which SQLite
    and PostgreSQL both answer)."""

    title = "DMARC"
    parameter_name = "dmarc"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        return [(verdict, verdict) for verdict in VERDICTS]

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        if self.value() in VERDICTS:
            return queryset.filter(verdicts__dmarc=self.value())
        return queryset


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "subject",
        "from_email",
        "inbox",
        "direction",
        "status",
        "created_by_name",
        "approved_by_name",
        "authentication",
        "created_at",
    ]
    list_filter = [
        "status",
        "direction",
        DmarcVerdictFilter,
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = [
        "public_id",
        "subject",
        "from_email",
        "message_id",
        "external_message_id",
        "inbox__email",
        "organization__name",
    ]
    list_select_related = ["inbox", "organization"]
    readonly_fields = [f.name for f in Message._meta.fields] + ["authentication", "raw_mime"]
    exclude = ["raw"]
    inlines = [AttachmentInline]

    @admin.display(description="Created by")
    def created_by_name(self, message: Message) -> str:
        actor = message.created_by
        return f"{actor.get('type')}: {actor.get('name')}" if actor else ""

    @admin.display(description="Approved by")
    def approved_by_name(self, message: Message) -> str:
        actor = message.approved_by
        return f"{actor.get('type')}: {actor.get('name')}" if actor else ""

    @admin.display(description="SPF / DKIM / DMARC")
    def authentication(self, message: Message) -> str:
        """The verdicts Sendook stored, with the checked domains and the reasons (the full JSON
        is the Verdicts field)."""
        verdicts = message.verdicts or {}
        if message.direction != Message.Direction.INBOUND or "dkim" not in verdicts:
            return ""
        summary = " / ".join(str(verdicts.get(key, "none")) for key in ("spf", "dkim", "dmarc"))
        domains = verdicts.get("domains") or {}
        reasons = verdicts.get("reasons") or {}
        details = [f"checked by {verdicts.get('checkedBy', '?')}, From {domains.get('from', '')}"]
        details += [f"{key}: {value}" for key, value in reasons.items()]
        # format_html escapes: domains and reasons quote what the sender's DNS published.
        return format_html('<span title="{}">{}</span>', "\n".join(details), summary)

    @admin.display(description="Raw MIME")
    def raw_mime(self, message: Message) -> str:
        if not message.raw:
            return "(not sent yet)"
        with message.raw.open("rb") as handle:
            data = handle.read(RAW_PREVIEW_BYTES)
        # format_html escapes the content: raw mail is untrusted.
        return format_html(
            '<pre style="white-space: pre-wrap; max-height: 40em; overflow: auto">{}</pre>',
            data.decode("utf-8", errors="replace"),
        )


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["public_id", "filename", "content_type", "size", "message", "created_at"]
    search_fields = ["public_id", "filename", "message__public_id"]
    list_filter = ["content_type", "inline"]
    readonly_fields = [f.name for f in Attachment._meta.fields]


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "reason", "created_at"]
    list_filter = ["reason"]
    search_fields = ["email", "organization__name", "detail"]
    list_select_related = ["organization"]
