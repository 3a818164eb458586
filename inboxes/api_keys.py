"""API keys: minting (never wider than the key that mints), revoking, and which keys a key sees.

"Wider" is about three things a key carries: its scopes, its inboxes (`inbox_ids`: None is every
inbox of the organization) and whether its sends need approval. Key A is within key B when A's
scopes are among B's, A's inboxes among B's (any key's are among an unlimited key's; an
unlimited key's are never among a limited key's), and A needs approval whenever B does. A key may mint and revoke only keys within itself; a key limited to inboxes
sees only keys limited to (some of) its inboxes, so another inbox's id never shows through.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from inboxes.models import ApiKey, Inbox, Organization, all_scopes
from sendook.api import SCOPES, Forbidden, generate_api_key_secret
from sendook.exceptions import ValidationFailed


@dataclass
class CreatedApiKey:
    api_key: ApiKey
    secret: str


@dataclass(frozen=True)
class KeyPowers:
    """What a key may do and see: its scopes, its inboxes (None: all), approval required."""

    scopes: frozenset[str]
    inbox_ids: frozenset[str] | None
    require_approval: bool

    @classmethod
    def of(cls, api_key: ApiKey) -> KeyPowers:
        return cls(
            scopes=frozenset(api_key.scopes),
            inbox_ids=None if api_key.inbox_ids is None else frozenset(api_key.inbox_ids),
            require_approval=api_key.require_approval,
        )

    def sees_inboxes_of(self, other: KeyPowers) -> bool:
        if self.inbox_ids is None:
            return True
        return other.inbox_ids is not None and other.inbox_ids <= self.inbox_ids

    def covers(self, other: KeyPowers) -> bool:
        """Whether `other` is within this key (see the module docstring)."""
        return (
            other.scopes <= self.scopes
            and self.sees_inboxes_of(other)
            and (other.require_approval or not self.require_approval)
        )


def create_api_key(
    organization: Organization,
    *,
    name: str = "",
    scopes: list[str] | None = None,
    inbox_ids: list[str] | None = None,
    require_approval: bool | None = None,
    creator: ApiKey | None = None,
) -> CreatedApiKey:
    """Mint a key. Unset, `scopes`, `inbox_ids` and `require_approval` are the creator's own
    (all scopes, every inbox, no approval for a full key or when there is no creator); set,
    they may not exceed the creator's: 403 naming the field."""
    powers = KeyPowers.of(creator) if creator is not None else None
    if scopes is None:
        scopes = list(powers.scopes) if powers else all_scopes()
    elif powers and not set(scopes) <= powers.scopes:
        extra = [scope for scope in scopes if scope not in powers.scopes]
        _refuse("scopes", f"This API key cannot give scopes it lacks: {', '.join(extra)}")
    if inbox_ids is None:
        inbox_ids = sorted(powers.inbox_ids) if powers and powers.inbox_ids is not None else None
    else:
        inbox_ids = _known_inbox_ids(
            organization, inbox_ids, visible=powers.inbox_ids if powers else None
        )
    if require_approval is None:
        require_approval = bool(powers and powers.require_approval)
    elif powers and powers.require_approval and not require_approval:
        _refuse("requireApproval", "This API key needs approval, so every key it makes does too")
    secret, prefix, key_hash = generate_api_key_secret()
    api_key = ApiKey.objects.create(
        organization=organization,
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        scopes=[scope for scope in SCOPES if scope in scopes],  # one order, whatever was given
        inbox_ids=inbox_ids,
        require_approval=require_approval,
    )
    return CreatedApiKey(api_key=api_key, secret=secret)


def _refuse(field: str, message: str) -> None:
    raise Forbidden(message, fields={field: [message]})


def _known_inbox_ids(
    organization: Organization, inbox_ids: list[str], *, visible: Collection[str] | None
) -> list[str]:
    """The organization's inboxes among `inbox_ids` (and among `visible`, when the creator is
    limited); any other id, another organization's alike, is a 400 naming `inboxIds`."""
    rows = Inbox.objects.filter(organization=organization, public_id__in=inbox_ids)
    known = set(rows.values_list("public_id", flat=True))
    if visible is not None:
        known &= set(visible)
    unknown = [inbox_id for inbox_id in inbox_ids if inbox_id not in known]
    if unknown:
        raise ValidationFailed.for_field("inboxIds", f"Inbox not found: {', '.join(unknown)}")
    return list(inbox_ids)


def keys_visible_to(rows: QuerySet[ApiKey], inbox_ids: Collection[str] | None) -> QuerySet[ApiKey]:
    """`rows` narrowed to the keys a key limited to `inbox_ids` sees (None: all of them)."""
    if inbox_ids is None:
        return rows
    limit = KeyPowers(scopes=frozenset(), inbox_ids=frozenset(inbox_ids), require_approval=False)
    # A few keys per organization: compared here rather than as JSON containment in SQL,
    # which SQLite and PostgreSQL spell differently.
    pks = [
        pk
        for pk, ids in rows.values_list("pk", "inbox_ids")
        if limit.sees_inboxes_of(
            KeyPowers(frozenset(), None if ids is None else frozenset(ids), False)
        )
    ]
    return rows.filter(pk__in=pks)


def revoke_api_key(api_key: ApiKey, *, revoker: ApiKey | None = None) -> ApiKey:
    """Revoke; a key may revoke only keys within itself (itself included)."""
    if revoker is not None and not KeyPowers.of(revoker).covers(KeyPowers.of(api_key)):
        raise Forbidden("This API key cannot revoke a key with more power than its own")
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at", "updated_at"])
    return api_key
