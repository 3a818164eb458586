"""Writes for tenancy: organizations, API keys, domains, inboxes."""

import re
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from inboxes import dns, ses
from inboxes.addresses import InvalidAddress, canonical_inbox_address
from inboxes.api_keys import CreatedApiKey, create_api_key  # also reached from here, as before
from inboxes.exceptions import (
    DomainExists,
    DomainInUse,
    DomainNotVerified,
    DomainTaken,
    InboxAddressReserved,
    InboxAddressTaken,
    LoginExists,
)
from inboxes.models import (
    Domain,
    Inbox,
    Membership,
    Organization,
    ReleasedAddress,
    new_challenge_token,
)
from inboxes.selectors import find_inbox_by_email
from sendook.events.models import EventType
from sendook.events.services import record_event
from sendook.exceptions import ValidationFailed

_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


# --- organizations and keys -----------------------------------------------------------------


@transaction.atomic
def create_organization(
    name: str,
    *,
    owner_email: str | None = None,
    owner_password: str | None = None,
    reset_password: bool = False,
) -> tuple[Organization, CreatedApiKey, AbstractBaseUser | None]:
    """An existing login becomes the owner as it is; its password changes only when
    reset_password says so (a typo'd email must not take over someone else's login)."""
    with transaction.atomic():
        organization = Organization.objects.create(name=name)
        user = None
        if owner_email:
            user = _get_or_create_user(owner_email, owner_password, reset_password=reset_password)
            Membership.objects.create(
                organization=organization, user=user, role=Membership.Role.OWNER
            )
        created = create_api_key(organization, name="default")
    return organization, created, user


def _get_or_create_user(
    email: str, password: str | None, *, reset_password: bool
) -> AbstractBaseUser:
    user_model = get_user_model()
    email = email.strip().lower()
    user = user_model.objects.filter(email__iexact=email).first()
    if user is None:
        user = user_model.objects.create_user(username=email, email=email, password=password)
    elif password:
        if not reset_password:
            raise LoginExists(f"A login for {email} already exists")
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


# --- domains --------------------------------------------------------------------------------


def normalize_domain_name(raw: str) -> str:
    name = raw.strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationFailed.for_field("name", "Not a valid domain name.") from None
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL_RE.match(label) for label in labels):
        raise ValidationFailed.for_field("name", "Not a valid domain name.")
    if labels[-1].isdigit():
        raise ValidationFailed.for_field("name", "Not a valid domain name.")
    if name == settings.SENDOOK_DEFAULT_DOMAIN:
        raise ValidationFailed.for_field("name", "The default domain cannot be added.")
    return name


def build_dns_records(name: str, dkim_tokens: list[str], *, challenge_token: str) -> list[dict]:
    records = [
        {"type": "MX", "name": name, "value": settings.SENDOOK_INBOUND_MX, "priority": 10},
        {
            "type": "TXT",
            "name": name,
            "value": f"v=spf1 include:{settings.SENDOOK_SPF_INCLUDE} ~all",
        },
        {"type": "TXT", "name": f"_dmarc.{name}", "value": settings.SENDOOK_DMARC_POLICY},
    ]
    records += [
        {
            "type": "CNAME",
            "name": f"{token}._domainkey.{name}",
            "value": f"{token}.dkim.amazonses.com",
        }
        for token in dkim_tokens
    ]
    challenge = Domain(name=name, challenge_token=challenge_token)
    records.append(
        {"type": "TXT", "name": challenge.challenge_name, "value": challenge.challenge_value}
    )
    return [{**record, "status": "pending"} for record in records]


def _grace_cutoff() -> datetime:
    return timezone.now() - timedelta(hours=settings.SENDOOK_DOMAIN_GRACE_HOURS)


def _holder(name: str, *, besides: Domain | Organization) -> Domain | None:
    """Another organization's verified row for `name`: it owns the name while verified."""
    rows = Domain.objects.filter(name__iexact=name, verified=True)
    if isinstance(besides, Domain):
        rows = rows.exclude(pk=besides.pk)
    else:
        rows = rows.exclude(organization=besides)
    return rows.select_related("organization").first()


def _lapsed(domain: Domain) -> bool:
    """A verified domain whose last full pass is older than the grace period."""
    return domain.last_verified_at is None or domain.last_verified_at < _grace_cutoff()


def create_domain(organization: Organization, *, name: str) -> Domain:
    name = normalize_domain_name(name)
    if Domain.objects.filter(name__iexact=name, organization=organization).exists():
        raise DomainExists()
    holder = _holder(name, besides=organization)
    if holder is not None and not _lapsed(holder):
        raise DomainTaken()
    dkim_tokens = ses.register_domain_identity(name) if settings.SENDOOK_SES_IDENTITIES else []
    token = new_challenge_token()
    try:
        with transaction.atomic():
            return Domain.objects.create(
                organization=organization,
                name=name,
                challenge_token=token,
                records=build_dns_records(name, dkim_tokens, challenge_token=token),
            )
    except IntegrityError:
        raise DomainExists() from None


def _records_with_challenge(domain: Domain) -> list[dict]:
    """The stored records, plus the challenge should a row predate it or lack it."""
    records = list(domain.records)
    if not any(
        record["type"] == "TXT" and record["name"] == domain.challenge_name for record in records
    ):
        records.append(
            {
                "type": "TXT",
                "name": domain.challenge_name,
                "value": domain.challenge_value,
                "status": "pending",
            }
        )
    return records


def _domain_payload(domain: Domain, **extra: str) -> dict:
    from inboxes.serializers import DomainSerializer

    return {**DomainSerializer(domain).data, **extra}


def _lapse(domain: Domain, *, reason: str) -> None:
    """Verification really ends: the name is free again and sends from it stop."""
    domain.verified = False
    domain.save(update_fields=["verified", "updated_at"])
    record_event(
        domain.organization,
        event_type=EventType.DOMAIN_UNVERIFIED,
        payload=_domain_payload(domain, reason=reason),
    )


def verify_domain(domain: Domain) -> Domain:
    """Look every record up in DNS (in parallel, within SENDOOK_DNS_VERIFY_TIMEOUT), record each
    one's status, and decide the domain's state.

    Every record, the organization's challenge TXT among them, must be found to verify. A
    verified domain whose check fails (definitely or not) stays verified, and nobody else can
    claim it, for SENDOOK_DOMAIN_GRACE_HOURS after its last full pass; then it lapses with a
    domain.unverified event. The periodic re-check (inboxes.tasks.recheck_domains) runs the
    same function."""
    records = _records_with_challenge(domain)
    statuses = dns.check_records(records)
    records = [
        {**record, "status": status} for record, status in zip(records, statuses, strict=True)
    ]
    now = timezone.now()
    all_verified = all(status == dns.VERIFIED for status in statuses)
    became_verified = False
    with transaction.atomic():
        domain = Domain.objects.select_for_update().select_related("organization").get(pk=domain.pk)
        domain.records = records
        domain.last_checked_at = now
        if all_verified:
            if not domain.verified:
                holder = _holder(domain.name, besides=domain)
                if holder is not None:
                    holder = Domain.objects.select_for_update().get(pk=holder.pk)
                    if not (holder.verified and _lapsed(holder)):
                        raise DomainTaken()
                    _lapse(holder, reason="Another organization proved control of the domain.")
                domain.verified_at = now
                became_verified = True
            domain.verified = True
            domain.last_verified_at = now
        elif domain.verified and _lapsed(domain):
            failing = [r["name"] for r in records if r["status"] != dns.VERIFIED]
            _lapse(
                domain,
                reason=(
                    f"Not verified for {settings.SENDOOK_DOMAIN_GRACE_HOURS} hours; "
                    f"records not found: {', '.join(failing)}"
                ),
            )
        try:
            with transaction.atomic():
                domain.save(
                    update_fields=[
                        "records",
                        "last_checked_at",
                        "verified",
                        "verified_at",
                        "last_verified_at",
                        "updated_at",
                    ]
                )
        except IntegrityError:
            raise DomainTaken() from None
        if became_verified:
            record_event(
                domain.organization,
                event_type=EventType.DOMAIN_VERIFIED,
                payload=_domain_payload(domain),
            )
    return domain


def domains_to_recheck(*, limit: int) -> list[int]:
    """Verified domains not checked for SENDOOK_DOMAIN_RECHECK_MINUTES, least recent first."""
    cutoff = timezone.now() - timedelta(minutes=settings.SENDOOK_DOMAIN_RECHECK_MINUTES)
    rows = Domain.objects.filter(verified=True).filter(
        Q(last_checked_at__isnull=True) | Q(last_checked_at__lt=cutoff)
    )
    return list(
        rows.order_by(F("last_checked_at").asc(nulls_first=True)).values_list("pk", flat=True)[
            :limit
        ]
    )


def delete_domain(domain: Domain) -> Domain:
    if domain.inboxes.exists():
        raise DomainInUse()
    if settings.SENDOOK_SES_IDENTITIES:
        ses.delete_domain_identity(domain.name)
    domain.delete()
    return domain


# --- inboxes --------------------------------------------------------------------------------


def _inbox_payload(inbox: Inbox) -> dict:
    from inboxes.serializers import InboxSerializer

    return dict(InboxSerializer(inbox).data)


def normalize_inbox_email(raw: str) -> str:
    try:
        return canonical_inbox_address(raw)
    except InvalidAddress as error:
        raise ValidationFailed.for_field("email", str(error)) from None


def _check_address_available(organization: Organization, email: str) -> None:
    local, _, domain = email.rpartition("@")
    if domain == settings.SENDOOK_DEFAULT_DOMAIN and local in settings.SENDOOK_RESERVED_LOCAL_PARTS:
        raise InboxAddressReserved(fields={"email": [f"{email} is reserved on the shared domain."]})
    if find_inbox_by_email(email) is not None:
        raise InboxAddressTaken(fields={"email": [InboxAddressTaken.message]})
    since = timezone.now() - timedelta(days=settings.SENDOOK_ADDRESS_QUARANTINE_DAYS)
    released = (
        ReleasedAddress.objects.annotate(lower_email=Lower("email"))
        .filter(lower_email=email, released_at__gte=since)
        .exclude(organization=organization)
    )
    if released.exists():
        # Said like a taken address: whose it was is not another organization's business.
        raise InboxAddressTaken(fields={"email": [InboxAddressTaken.message]})


def create_inbox(organization: Organization, *, name: str = "", email: str | None = None) -> Inbox:
    domain = None
    if email:
        email = normalize_inbox_email(email)
        domain_name = email.rsplit("@", 1)[1]
        if domain_name != settings.SENDOOK_DEFAULT_DOMAIN:
            domain = Domain.objects.filter(
                organization=organization, name__iexact=domain_name, verified=True
            ).first()
            if domain is None:
                raise DomainNotVerified(fields={"email": [DomainNotVerified.message]})
    else:
        stem = slugify(name)[:30].strip("-") or "inbox"
        email = f"{stem}-{secrets.token_hex(4)}@{settings.SENDOOK_DEFAULT_DOMAIN}"
    _check_address_available(organization, email)
    try:
        with transaction.atomic():
            inbox = Inbox.objects.create(
                organization=organization, name=name, email=email, domain=domain
            )
            record_event(
                organization,
                event_type=EventType.INBOX_CREATED,
                payload=_inbox_payload(inbox),
                inbox_id=inbox.public_id,
            )
    except IntegrityError:
        raise InboxAddressTaken(fields={"email": [InboxAddressTaken.message]}) from None
    return inbox


@transaction.atomic
def update_inbox(inbox: Inbox, *, name: str | None = None) -> Inbox:
    if name is not None and name != inbox.name:
        inbox.name = name
        inbox.save(update_fields=["name", "updated_at"])
        record_event(
            inbox.organization,
            event_type=EventType.INBOX_UPDATED,
            payload=_inbox_payload(inbox),
            inbox_id=inbox.public_id,
        )
    return inbox


@transaction.atomic
def delete_inbox(inbox: Inbox) -> Inbox:
    payload = _inbox_payload(inbox)
    record_event(
        inbox.organization,
        event_type=EventType.INBOX_DELETED,
        payload=payload,
        inbox_id=inbox.public_id,
    )
    ReleasedAddress.objects.create(organization=inbox.organization, email=inbox.email)
    inbox.delete()
    return inbox
