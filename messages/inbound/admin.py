"""Admin for raw inbound records: find quarantined mail, download the raw bytes, reprocess."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from messages.models import InboundEmail
from messages.services.receive import reprocess_inbound_email


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "source",
        "status",
        "quarantine_reason",
        "recipients",
        "size",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "source", "quarantine_reason"]
    search_fields = ["public_id", "provider_notification_id", "envelope_recipients"]
    actions = ["reprocess"]
    fields = (
        "public_id",
        "source",
        "provider_notification_id",
        "envelope_recipients",
        "unknown_recipients",
        # What SPF was checked against (SMTP listener only).
        "client_ip",
        "helo",
        "mail_from",
        "raw_download",
        "size",
        "verdicts",
        "status",
        "quarantine_reason",
        "error",
        "attempts",
        "created_at",
        "processed_at",
        "resulting_messages",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # mail comes in through the pipeline, never typed into a form

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Recipients")
    def recipients(self, obj: InboundEmail) -> str:
        return ", ".join(obj.envelope_recipients)[:120]

    @admin.display(description="Raw message")
    def raw_download(self, obj: InboundEmail) -> str:
        url = reverse("admin:mail_inboundemail_raw", args=[obj.pk])
        return format_html('<a href="{}">Download .eml</a> ({} bytes)', url, obj.size)

    @admin.display(description="Messages")
    def resulting_messages(self, obj: InboundEmail) -> str:
        rows = obj.messages.select_related("inbox").order_by("id")
        return (
            format_html_join(
                "",
                "<div>{} in {} ({})</div>",
                ((m.public_id, m.inbox.email, m.thread_rule) for m in rows),
            )
            or "—"
        )

    @admin.action(description="Reprocess selected inbound emails")
    def reprocess(self, request: HttpRequest, queryset: QuerySet[InboundEmail]) -> None:
        count = 0
        for record in queryset:
            reprocess_inbound_email(record)
            count += 1
        self.message_user(
            request, f"Queued {count} inbound email(s) for processing.", messages.SUCCESS
        )

    def get_urls(self):  # type: ignore[no-untyped-def]
        view = self.admin_site.admin_view(self.download_raw)
        return [path("<int:pk>/raw/", view, name="mail_inboundemail_raw"), *super().get_urls()]

    def download_raw(self, request: HttpRequest, pk: int) -> FileResponse:
        if not self.has_view_permission(request):
            raise Http404
        record = get_object_or_404(InboundEmail, pk=pk)
        return FileResponse(
            record.raw.open("rb"),
            as_attachment=True,
            filename=f"{record.public_id}.eml",
            content_type="message/rfc822",
        )
