from typing import Any, cast

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from inboxes.models import ApiKey, Domain, IdempotencyRecord, Inbox, Membership, Organization
from sendook.api import SCOPES


class OwnerManagedAdmin(admin.ModelAdmin):
    """What only an organization's owners manage: API keys, domains, webhooks, memberships.

    An operator (superuser) manages every organization's rows. Any other staff login sees
    only the rows of organizations it belongs to, and may add, change or delete them only
    where it is an owner: a member answers 403."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        rows = super().get_queryset(request)
        if request.user.is_superuser:
            return rows
        mine = Membership.objects.filter(user_id=request.user.pk).values("organization_id")
        return rows.filter(organization_id__in=mine)

    def _is_owner(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return True
        owned = Membership.objects.filter(user_id=request.user.pk, role=Membership.Role.OWNER)
        if obj is not None:
            owned = owned.filter(organization_id=obj.organization_id)
        return owned.exists()

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return super().has_add_permission(request, *args) and self._is_owner(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._is_owner(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._is_owner(request, obj)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = [
        "public_id",
        "name",
        "prefix",
        "scopes",
        "inbox_ids",
        "require_approval",
        "last_used_at",
        "revoked_at",
        "created_at",
    ]
    readonly_fields = fields
    can_delete = False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "public_id",
        "send_rate_limit",
        "daily_send_cap",
        "sending_paused",
        "created_at",
    ]
    search_fields = ["name", "public_id"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    inlines = [MembershipInline, ApiKeyInline]


@admin.register(Membership)
class MembershipAdmin(OwnerManagedAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]


class ApiKeyForm(forms.ModelForm):
    """Scopes as checkboxes; the inbox limit as an explicit switch plus the organization's
    inboxes, so that a key whose inboxes were all deleted is not widened to every inbox by
    saving it with none ticked."""

    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in SCOPES], widget=forms.CheckboxSelectMultiple
    )
    limit_inboxes = forms.BooleanField(
        required=False,
        label="Only the inboxes ticked below",
        help_text="Unticked: the key sees every inbox of its organization.",
    )
    inboxes = forms.ModelMultipleChoiceField(
        queryset=Inbox.objects.none(),
        to_field_name="public_id",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="With the limit on and none ticked, the key sees no inbox at all.",
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "require_approval", "revoked_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        key = self.instance
        inboxes = cast(forms.ModelMultipleChoiceField, self.fields["inboxes"])
        inboxes.queryset = Inbox.objects.filter(organization_id=key.organization_id).order_by(
            "email"
        )
        self.initial.setdefault("limit_inboxes", key.inbox_ids is not None)
        self.initial.setdefault("inboxes", key.inbox_ids or [])

    def clean_scopes(self) -> list[str]:
        chosen = self.cleaned_data["scopes"]
        return [scope for scope in SCOPES if scope in chosen]

    def save(self, commit: bool = True) -> ApiKey:
        key = super().save(commit=False)
        inboxes = self.cleaned_data.get("inboxes") or []
        key.inbox_ids = (
            [inbox.public_id for inbox in inboxes] if self.cleaned_data["limit_inboxes"] else None
        )
        if commit:
            key.save()
        return key


@admin.register(ApiKey)
class ApiKeyAdmin(OwnerManagedAdmin):
    form = ApiKeyForm
    # The hash is never shown; the prefix is enough to tell keys apart.
    list_display = [
        "prefix",
        "name",
        "organization",
        "scope_summary",
        "inbox_summary",
        "require_approval",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "require_approval"]
    search_fields = ["prefix", "name", "public_id", "organization__name"]
    fields = [
        "public_id",
        "organization",
        "name",
        "prefix",
        "scopes",
        "require_approval",
        "limit_inboxes",
        "inboxes",
        "last_used_at",
        "revoked_at",
        "created_at",
    ]

    @admin.display(description="scopes")
    def scope_summary(self, key: ApiKey) -> str:
        return "all" if set(key.scopes) >= set(SCOPES) else ", ".join(key.scopes)

    @admin.display(description="inboxes")
    def inbox_summary(self, key: ApiKey) -> str:
        return "all" if key.inbox_ids is None else ", ".join(key.inbox_ids) or "none"

    readonly_fields = ["public_id", "organization", "prefix", "last_used_at", "created_at"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # keys are created through the API or createorg, which show the secret once


@admin.register(Domain)
class DomainAdmin(OwnerManagedAdmin):
    list_display = ["name", "organization", "verified", "verified_at", "last_checked_at"]
    list_filter = ["verified"]
    search_fields = ["name", "public_id", "organization__name"]
    readonly_fields = ["public_id", "created_at", "updated_at"]


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "name",
        "organization",
        "domain",
        "send_approval",
        "hold_seconds",
        "sending_paused",
        "created_at",
    ]
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
