"""API shapes of tenancy objects (camelCase and ids come from sendook.api's base classes)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inboxes.models import (
    MAX_HOLD_SECONDS,
    ApiKey,
    Domain,
    Inbox,
    Membership,
    Organization,
    SendApproval,
)
from sendook.api import (
    SCOPES,
    ApiModelSerializer,
    ApiSerializer,
    OptionalText,
    StrictBoolean,
    Text,
    Timestamp,
    validate_no_control_chars,
)


class ApiKeySerializer(ApiModelSerializer):
    organization_id = serializers.CharField(source="organization.public_id", read_only=True)
    name = OptionalText()  # keys made before names were required may have none
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPES), read_only=True)
    # Omitted for a key that sees every inbox.
    inbox_ids = serializers.ListField(child=serializers.CharField(), read_only=True, required=False)
    require_approval = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "_id",
            "organization_id",
            "name",
            "prefix",
            "scopes",
            "inbox_ids",
            "require_approval",
            "last_used_at",
            "created_at",
            "updated_at",
        ]


class CreatedApiKeySerializer(ApiKeySerializer):
    """The create response: the only time the secret is shown."""

    key = serializers.CharField(read_only=True)

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


def _validate_scopes(value: list[str]) -> None:
    if not value:
        raise serializers.ValidationError(
            "Give the key at least one scope (or omit scopes for the making key's own)."
        )
    unknown = [scope for scope in value if scope not in SCOPES]
    if unknown:
        raise serializers.ValidationError(
            f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(SCOPES)}."
        )
    _refuse_duplicates(value)


def _validate_inbox_ids(value: list[str]) -> None:
    if not value:
        raise serializers.ValidationError(
            "List at least one inbox (or omit inboxIds for a key that sees every inbox)."
        )
    _refuse_duplicates(value)


def _refuse_duplicates(values: list[str]) -> None:
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise serializers.ValidationError(f"Listed more than once: {', '.join(repeated)}.")


SCOPE_LIST_SCHEMA = {"type": "array", "items": {"type": "string", "enum": list(SCOPES)}}


@extend_schema_field(SCOPE_LIST_SCHEMA)
class ScopeList(serializers.ListField):
    """A list of scopes; checked by _validate_scopes, whose message lists the known ones."""


class ApiKeyCreateInput(ApiSerializer):
    # Required like the original's API: a nameless key is one nobody can later tell apart.
    name = Text(max_length=200, validators=[validate_no_control_chars])

    scopes = ScopeList(
        child=Text(max_length=40),
        required=False,
        max_length=len(SCOPES),
        validators=[_validate_scopes],
        help_text="What the key may do, among: " + ", ".join(SCOPES) + ". Default: the scopes "
        "of the key making it (all of them, for a full key).",
    )
    inbox_ids = serializers.ListField(
        child=Text(max_length=40),
        required=False,
        max_length=100,
        validators=[_validate_inbox_ids],
        help_text="The only inboxes the key sees. Default: those of the key making it (every "
        "inbox, for an unlimited key).",
    )
    require_approval = StrictBoolean(
        required=False, help_text="Hold every send made with the key for approval."
    )

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("Give the key a name.")
        return value


class DnsRecordSerializer(ApiSerializer):
    type = serializers.CharField()
    name = serializers.CharField()
    value = serializers.CharField()
    priority = serializers.IntegerField(required=False)
    status = serializers.ChoiceField(choices=["pending", "verified", "failed", "temperror"])


class DomainSerializer(ApiModelSerializer):
    organization_id = serializers.CharField(source="organization.public_id", read_only=True)
    records = DnsRecordSerializer(many=True, read_only=True)

    class Meta:
        model = Domain
        fields = [
            "id",
            "_id",
            "organization_id",
            "name",
            "verified",
            "verified_at",
            "records",
            "last_checked_at",
            "created_at",
            "updated_at",
        ]


class DomainCreateInput(ApiSerializer):
    name = Text(max_length=253)


class JsonBoolean(serializers.BooleanField):
    """true or false, nothing else: "yes", 1 or "0" for a pause switch are mistakes."""

    def to_internal_value(self, data: object) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class SendPolicySerializer(ApiSerializer):
    """Which sends wait for approval, and the undo window every other send waits."""

    approval = serializers.ChoiceField(choices=SendApproval.choices, required=False)
    hold_seconds = serializers.IntegerField(min_value=0, max_value=MAX_HOLD_SECONDS, required=False)

    def to_internal_value(self, data: object) -> object:
        seconds = data.get("holdSeconds") if isinstance(data, dict) else None
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)):
            # A JSON number only: DRF's IntegerField would take true as 1 and "10" as 10.
            raise serializers.ValidationError({"holdSeconds": ["A whole number of seconds."]})
        return super().to_internal_value(data)


class InboxSerializer(ApiModelSerializer):
    organization_id = serializers.CharField(source="organization.public_id", read_only=True)
    domain_id = serializers.CharField(source="domain.public_id", read_only=True, default=None)
    name = OptionalText()
    send_policy = serializers.SerializerMethodField(method_name="get_send_policy")
    sending_paused = serializers.BooleanField(read_only=True)

    class Meta:
        model = Inbox
        fields = [
            "id",
            "_id",
            "organization_id",
            "domain_id",
            "name",
            "email",
            "send_policy",
            "sending_paused",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(SendPolicySerializer)
    def get_send_policy(self, inbox: Inbox) -> dict:
        return {"approval": inbox.send_approval, "holdSeconds": inbox.hold_seconds}


class InboxCreateInput(ApiSerializer):
    name = Text(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        validators=[validate_no_control_chars],
    )
    email = Text(max_length=254, required=False, allow_blank=True, allow_null=True)


class InboxUpdateInput(ApiSerializer):
    name = Text(max_length=200, allow_blank=True, validators=[validate_no_control_chars])
    send_policy = SendPolicySerializer(required=False)
    sending_paused = JsonBoolean(required=False)


class OrganizationSerializer(ApiModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "_id", "name", "sending_paused", "created_at", "updated_at"]


class OrganizationUpdateInput(ApiSerializer):
    sending_paused = JsonBoolean()


class MemberSerializer(ApiSerializer):
    """A person of the organization: the `id` (`user_…`) an assignee of type user takes."""

    id = serializers.CharField(source="public_id", read_only=True)
    _id = serializers.CharField(source="public_id", read_only=True)
    email = serializers.CharField(source="user.email", read_only=True)
    name = serializers.SerializerMethodField()
    role = serializers.ChoiceField(choices=Membership.Role.choices, read_only=True)
    created_at = Timestamp(read_only=True)

    def get_name(self, membership: Membership) -> str | None:
        return membership.user.get_full_name() or None
