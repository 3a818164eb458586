from django import forms
from django.contrib import admin
from django.utils.html import format_html

from messages.exceptions import MessageNotBlocked
from messages.inbound.admin import InboundEmailAdmin  # noqa: F401  (registers it)
from messages.models import Attachment, ListEntry, Message, Suppression, Thread
from messages.services import lists
from messages.services.provenance import user_actor
from sendook.exceptions import ValidationFailed

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
        "created_at",
    ]
    list_filter = ["status", "direction", ("created_at", admin.DateFieldListFilter)]
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
    readonly_fields = [f.name for f in Message._meta.fields] + ["raw_mime"]
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
