from django.contrib import admin

from inboxes.models import ApiKey, Domain, IdempotencyRecord, Inbox, Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ["public_id", "name", "prefix", "last_used_at", "revoked_at", "created_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "public_id", "send_rate_limit", "daily_send_cap", "created_at"]
    search_fields = ["name", "public_id"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    inlines = [MembershipInline, ApiKeyInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    # The hash is never shown; the prefix is enough to tell keys apart.
    list_display = ["prefix", "name", "organization", "last_used_at", "revoked_at", "created_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "public_id", "organization__name"]
    fields = [
        "public_id",
        "organization",
        "name",
        "prefix",
        "last_used_at",
        "revoked_at",
        "created_at",
    ]
    readonly_fields = ["public_id", "organization", "prefix", "last_used_at", "created_at"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # keys are created through the API or createorg, which show the secret once


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "verified", "verified_at", "last_checked_at"]
    list_filter = ["verified"]
    search_fields = ["name", "public_id", "organization__name"]
    readonly_fields = ["public_id", "created_at", "updated_at"]


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "organization", "domain", "created_at"]
    list_filter = [("domain", admin.EmptyFieldListFilter)]
    search_fields = ["email", "name", "public_id", "organization__name"]
    readonly_fields = ["public_id", "created_at", "updated_at"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "organization", "status_code", "created_at"]
    search_fields = ["key"]
    readonly_fields = [
        "organization",
        "key",
        "fingerprint",
        "status_code",
        "response",
        "created_at",
    ]
