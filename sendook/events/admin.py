from django.contrib import admin

from sendook.events.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "type",
        "organization",
        "inbox_public_id",
        "message_public_id",
        "created_at",
    ]
    list_filter = ["type"]
    search_fields = ["public_id", "inbox_public_id", "message_public_id", "organization__name"]
    readonly_fields = [
        "public_id",
        "organization",
        "type",
        "inbox_public_id",
        "message_public_id",
        "payload",
        "created_at",
    ]
