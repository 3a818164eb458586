from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from inboxes.admin import OwnerManagedAdmin
from sendook.exceptions import SendookError
from webhooks.models import Delivery, DeliveryAttempt, Webhook
from webhooks.services.delivery import queueing


@admin.register(Webhook)
class WebhookAdmin(OwnerManagedAdmin):
    # The signing secret is never shown; the API's rotateSecret issues a new one.
    exclude = ["secret"]
    list_display = ["public_id", "url", "organization", "enabled", "disabled_reason", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["public_id", "url", "organization__name"]
    readonly_fields = ["public_id", "organization", "disabled_at", "created_at", "updated_at"]


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    fields = [
        "public_id",
        "attempt",
        "status_code",
        "succeeded",
        "error",
        "duration_ms",
        "next_retry_at",
        "created_at",
    ]
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.action(description="Retry now (failed or dead deliveries)")
def retry_now(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Delivery]
) -> None:
    retried, refused = 0, []
    for row in queryset:
        try:
            queueing.retry_delivery(row)
            retried += 1
        except SendookError as exc:
            refused.append(f"{row.public_id}: {exc.message}")
    if retried:
        modeladmin.message_user(request, f"Queued {retried} deliveries.", messages.SUCCESS)
    if refused:
        modeladmin.message_user(request, "Not retried: " + "; ".join(refused), messages.WARNING)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "event",
        "webhook",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "updated_at",
    ]
    list_filter = ["status"]
    search_fields = ["public_id", "event__public_id", "webhook__public_id", "webhook__url"]
    readonly_fields = [
        "public_id",
        "event",
        "webhook",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["event", "webhook"]
    inlines = [AttemptInline]
    actions = [retry_now]


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "delivery",
        "webhook",
        "attempt",
        "status_code",
        "succeeded",
        "error",
        "duration_ms",
        "created_at",
    ]
    list_filter = ["succeeded"]
    search_fields = ["public_id", "delivery__public_id", "webhook__public_id"]
    readonly_fields = [
        "public_id",
        "delivery",
        "webhook",
        "attempt",
        "status_code",
        "succeeded",
        "error",
        "duration_ms",
        "response_excerpt",
        "next_retry_at",
        "created_at",
    ]
    list_select_related = ["delivery", "webhook"]
