"""Tenancy: organizations, their members, API keys, sending domains and inboxes."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from sendook.api.permissions import SCOPES
from sendook.fields import PublicIdField


def all_scopes() -> list[str]:
    """A key made without `scopes` gets every scope that exists when it is made. A scope added
    later reaches existing keys only through a data migration that says which ones."""
    return list(SCOPES)


class Organization(models.Model):
    public_id = PublicIdField(prefix="org")
    name = models.CharField(max_length=200)
    # Per-organization overrides of SENDOOK_SEND_RATE_LIMIT ("100/h") and SENDOOK_DAILY_SEND_CAP.
    send_rate_limit = models.CharField(max_length=32, blank=True)
    daily_send_cap = models.PositiveIntegerField(null=True, blank=True)
    # The organization-wide pause switch: every send is accepted and held until approved.
    sending_paused = models.BooleanField(default=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="organizations"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        MEMBER = "member"

    # The member's id in the API (`GET /v1/members`, an assignee of type "user"): one person
    # in two organizations is two members.
    public_id = PublicIdField(prefix="user")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="membership_unique_user_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization.name} ({self.role})"


class ApiKey(models.Model):
    public_id = PublicIdField(prefix="key")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=200, blank=True)
    # The secret itself is never stored: only its SHA-256 (keys are 256-bit random, so a fast
    # hash is enough) and a visible prefix so people can tell keys apart.
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    # What the key may do (sendook.api.permissions.SCOPES) and see: None for every inbox of
    # the organization, else the public ids of the only inboxes it sees (ids of inboxes
    # deleted since simply match nothing, so a key never sees more than it was given).
    scopes = models.JSONField(default=all_scopes)
    inbox_ids = models.JSONField(null=True, blank=True, default=None)
    # Every send made with the key is held for approval (read by the send service).
    require_approval = models.BooleanField(default=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "API key"
        indexes = [models.Index(fields=["organization", "-id"], name="apikey_org_newest")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"


def new_challenge_token() -> str:
    return secrets.token_hex(16)


class Domain(models.Model):
    public_id = PublicIdField(prefix="dom")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(max_length=253)
    verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    # The records to publish, each {type, name, value, priority?, status}; status is
    # "pending", "verified", "failed" (a definite answer without it) or "temperror" (no
    # definite answer) after the last check.
    records = models.JSONField(default=list, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # Published as TXT _sendook-challenge.<name>: only whoever controls the zone can publish
    # this organization's token, so it, not the shared MX/SPF/DMARC values, proves control.
    challenge_token = models.CharField(max_length=64, default=new_challenge_token, editable=False)
    # The last check that found every record; a verified domain whose checks fail stays
    # verified (and cannot be claimed) until SENDOOK_DOMAIN_GRACE_HOURS after it.
    last_verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("name"), name="domain_unique_name_per_org"
            ),
            # Once verified, a name belongs to one organization.
            models.UniqueConstraint(
                Lower("name"), condition=models.Q(verified=True), name="domain_verified_once"
            ),
        ]
        indexes = [models.Index(fields=["organization", "-id"], name="domain_org_newest")]

    def __str__(self) -> str:
        return self.name

    @property
    def challenge_name(self) -> str:
        return f"_sendook-challenge.{self.name}"

    @property
    def challenge_value(self) -> str:
        return f"sendook-verification={self.challenge_token}"


class SendApproval(models.TextChoices):
    NEVER = "never"
    FIRST_CONTACT = "first_contact"
    EXTERNAL = "external"
    ALWAYS = "always"


MAX_HOLD_SECONDS = 86400


class Inbox(models.Model):
    public_id = PublicIdField(prefix="inbox")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="inboxes")
    domain = models.ForeignKey(
        Domain, on_delete=models.PROTECT, null=True, blank=True, related_name="inboxes"
    )
    # Stored lower-cased; the unique constraint makes addresses unique case-insensitively.
    email = models.CharField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    # The send policy (messages/services/policies.py): which sends wait for a person, how long
    # every send waits before it goes (an undo window), and the inbox's pause switch.
    send_approval = models.CharField(
        max_length=16, choices=SendApproval.choices, default=SendApproval.NEVER
    )
    hold_seconds = models.PositiveIntegerField(default=0)
    sending_paused = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "inboxes"
        constraints = [models.UniqueConstraint(Lower("email"), name="inbox_unique_email")]
        indexes = [models.Index(fields=["organization", "-id"], name="inbox_org_newest")]

    def __str__(self) -> str:
        return self.email

    @property
    def domain_name(self) -> str:
        return self.email.rsplit("@", 1)[1]


class ReleasedAddress(models.Model):
    """An address whose inbox was deleted: kept from other organizations for
    SENDOOK_ADDRESS_QUARANTINE_DAYS, so replies still on their way never reach a newcomer."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    email = models.CharField(max_length=254)
    released_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(Lower("email"), name="released_address_email")]

    def __str__(self) -> str:
        return f"{self.email} (released {self.released_at:%Y-%m-%d})"


class IdempotencyRecord(models.Model):
    """The kept answer to a send-type POST or a staff UI send form, replayed when the same key
    comes again (sendook.api.run_once)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.status_code}"
