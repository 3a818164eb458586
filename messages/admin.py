from django import forms
from django.contrib import admin
from django.utils.html import format_html

from messages.exceptions import MessageNotBlocked
from messages.inbound.admin import InboundEmailAdmin  # noqa: F401  (registers it)
from messages.models import (
    Attachment,
    ListEntry,
    Message,
    Note,
    Suppression,
    Thread,
    ThreadActivity,
)
from messages.payloads import member_name
from messages.services import lists
from messages.services.provenance import user_actor
from messages.services.verdicts import VERDICTS
from sendook.exceptions import ValidationFailed

RAW_PREVIEW_BYTES = 200_000


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ["public_id", "filename", "content_type", "size", "inline"]
    readonly_fields = ["public_id", "filename", "content_type", "size", "inline"]
    can_delete = False


class NoteInline(admin.TabularInline):
    model = Note
    extra = 0
    fields = ["public_id", "author_name", "text", "created_at"]
    readonly_fields = ["public_id", "author_name", "text", "created_at"]
    can_delete = False

    @admin.display(description="Author")
    def author_name(self, note: Note) -> str:
        return _actor_name(note.author)

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False  # notes are written by people and agents, through the UI and the API


class AssigneeListFilter(admin.SimpleListFilter):
    """Assigned to a person, to an agent (API key), or to nobody."""

    title = "assignee"
    parameter_name = "assignee"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        return [("member", "A member"), ("api_key", "An API key"), ("none", "Nobody")]

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        if self.value() == "member":
            return queryset.filter(assignee_member__isnull=False)
        if self.value() == "api_key":
            return queryset.filter(assignee_key__isnull=False)
        if self.value() == "none":
            return queryset.filter(assignee_member__isnull=True, assignee_key__isnull=True)
        return queryset


def _actor_name(actor: dict) -> str:
    return f"{actor.get('type')}: {actor.get('name')}" if actor else ""


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "subject",
        "inbox",
        "organization",
        "status",
        "assignee",
        "snoozed_until",
        "message_count",
        "last_message_at",
    ]
    search_fields = [
        "public_id",
        "subject",
        "inbox__email",
        "organization__name",
        "assignee_member__user__email",
        "assignee_key__name",
    ]
    list_filter = [
        "status",
        AssigneeListFilter,
        ("snoozed_until", admin.DateFieldListFilter),
        ("last_message_at", admin.DateFieldListFilter),
    ]
    readonly_fields = [f.name for f in Thread._meta.fields]
    list_select_related = [
        "inbox",
        "organization",
        "assignee_member__user",
        "assignee_key",
    ]
    inlines = [NoteInline]

    @admin.display(description="Assignee")
    def assignee(self, thread: Thread) -> str:
        if thread.assignee_member_id:
            return f"member: {member_name(thread.assignee_member)}"
        if thread.assignee_key_id:
            return f"API key: {thread.assignee_key}"
        return ""


class _ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: readable, never edited here."""

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Note)
class NoteAdmin(_ReadOnlyAdmin):
    list_display = ["public_id", "thread", "author_name", "short_text", "created_at"]
    search_fields = ["public_id", "text", "thread__public_id", "organization__name"]
    list_filter = [("created_at", admin.DateFieldListFilter)]
    list_select_related = ["thread"]
    readonly_fields = [f.name for f in Note._meta.fields]

    @admin.display(description="Author")
    def author_name(self, note: Note) -> str:
        return _actor_name(note.author)

    @admin.display(description="Text")
    def short_text(self, note: Note) -> str:
        return note.text[:80]


@admin.register(ThreadActivity)
class ThreadActivityAdmin(_ReadOnlyAdmin):
    list_display = ["public_id", "thread", "kind", "actor_name", "changes", "created_at"]
    search_fields = ["public_id", "thread__public_id", "organization__name"]
    list_filter = ["kind", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["thread"]
    readonly_fields = [f.name for f in ThreadActivity._meta.fields]

    @admin.display(description="Actor")
    def actor_name(self, row: ThreadActivity) -> str:
        return _actor_name(row.actor)


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


@admin.action(description="Release the selected blocked messages (delivered as received)")
def release_blocked(modeladmin: admin.ModelAdmin, request, queryset) -> None:  # type: ignore[no-untyped-def]
    released = 0
    for message in queryset.filter(status=Message.Status.BLOCKED).select_related(
        "organization", "inbox", "thread"
    ):
        try:
            lists.release_message(message, actor=user_actor(request.user))
        except MessageNotBlocked:
            continue
        released += 1
    modeladmin.message_user(request, f"Released {released} message(s).")


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
    actions = [release_blocked]  # status "blocked" is one of the status filter's choices
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


class ListEntryForm(forms.ModelForm):
    """Values checked and normalized as the API does (lower-cased, IDNA, no wildcards)."""

    class Meta:
        model = ListEntry
        fields = ["organization", "inbox", "direction", "kind", "value"]

    def clean_value(self) -> str:
        try:
            return lists.normalize_value(self.cleaned_data.get("value", ""))
        except ValidationFailed as error:
            raise forms.ValidationError(error.message) from None

    def clean(self) -> dict:
        data = super().clean()
        inbox, organization = data.get("inbox"), data.get("organization")
        if (
            inbox is not None
            and organization is not None
            and inbox.organization_id != organization.pk
        ):
            raise forms.ValidationError({"inbox": "This inbox belongs to another organization."})
        return data


@admin.register(ListEntry)
class ListEntryAdmin(admin.ModelAdmin):
    form = ListEntryForm
    list_display = [
        "public_id",
        "value",
        "direction",
        "kind",
        "inbox",
        "organization",
        "created_at",
    ]
    list_filter = ["direction", "kind"]
    search_fields = ["public_id", "value", "inbox__email", "organization__name"]
    list_select_related = ["inbox", "organization"]
    readonly_fields = ["public_id", "created_by", "created_at"]

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        if not change:
            obj.created_by = user_actor(request.user)
        super().save_model(request, obj, form, change)
