"""Organization-scoped reads. Another organization's id is indistinguishable from a missing one,
and so is an inbox outside `inbox_ids` (the inboxes an API key is limited to; None: every inbox)."""

from collections.abc import Collection
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.db.models.functions import Lower

from inboxes.addresses import routing_address
from inboxes.api_keys import keys_visible_to
from inboxes.exceptions import ApiKeyNotFound, DomainNotFound, InboxNotFound, MemberNotFound
from inboxes.models import ApiKey, Domain, Inbox, Membership, Organization


def list_api_keys(
    organization: Organization, *, inbox_ids: Collection[str] | None = None
) -> QuerySet[ApiKey]:
    """The organization's live keys; for a key limited to `inbox_ids`, only keys limited to
    (some of) those inboxes."""
    rows = ApiKey.objects.filter(organization=organization, revoked_at__isnull=True)
    return keys_visible_to(rows, inbox_ids)


def get_api_key(
    organization: Organization, key_id: str, *, inbox_ids: Collection[str] | None = None
) -> ApiKey:
    try:
        return list_api_keys(organization, inbox_ids=inbox_ids).get(public_id=key_id)
    except ApiKey.DoesNotExist:
        raise ApiKeyNotFound() from None


def list_domains(organization: Organization) -> QuerySet[Domain]:
    return Domain.objects.filter(organization=organization)


def get_domain(organization: Organization, name_or_id: str) -> Domain:
    rows = list_domains(organization)
    lookup = (
        {"public_id": name_or_id} if name_or_id.startswith("dom_") else {"name__iexact": name_or_id}
    )
    try:
        return rows.get(**lookup)
    except Domain.DoesNotExist:
        raise DomainNotFound() from None


def list_inboxes(
    organization: Organization, *, inbox_ids: Collection[str] | None = None
) -> QuerySet[Inbox]:
    rows = Inbox.objects.filter(organization=organization)
    if inbox_ids is not None:
        rows = rows.filter(public_id__in=inbox_ids)
    return rows


def get_inbox(
    organization: Organization, inbox_id: str, *, inbox_ids: Collection[str] | None = None
) -> Inbox:
    if inbox_ids is not None and inbox_id not in inbox_ids:
        raise InboxNotFound()
    try:
        return list_inboxes(organization).get(public_id=inbox_id)
    except Inbox.DoesNotExist:
        raise InboxNotFound() from None


def find_inbox_by_email(email: str) -> Inbox | None:
    """Routing of mail (not of API requests): any organization's inbox at this address."""
    # Lower() (not iexact, which PostgreSQL runs as UPPER()) so the unique Lower(email) index
    # serves the lookup.
    return (
        Inbox.objects.select_related("organization")
        .annotate(lower_email=Lower("email"))
        .filter(lower_email=routing_address(email))
        .first()
    )


def sending_domain_verified(inbox: Inbox) -> bool:
    """Whether mail may leave from this inbox's address: always on the default domain; on a
    custom domain only while the organization's domain of that name is verified."""
    if inbox.domain_name == settings.SENDOOK_DEFAULT_DOMAIN:
        return True
    return Domain.objects.filter(
        pk=inbox.domain_id,
        organization_id=inbox.organization_id,
        name__iexact=inbox.domain_name,
        verified=True,
    ).exists()


# --- members (the people of GET /v1/members, assignees of type "user") ---------------------------


def members_of(organization: Organization) -> QuerySet[Membership]:
    """The organization's members with their users, in the order they joined."""
    return (
        Membership.objects.filter(organization=organization).select_related("user").order_by("id")
    )


def get_member(organization: Organization, public_id: str) -> Membership:
    """One member by its `user_…` id; another organization's member is not found."""
    try:
        return members_of(organization).get(public_id=public_id)
    except Membership.DoesNotExist:
        raise MemberNotFound() from None


def member_of_user(organization: Organization, user: Any) -> Membership | None:
    """The signed-in user's membership of the organization (the staff UI's "me")."""
    if not getattr(user, "is_authenticated", False):
        return None
    return members_of(organization).filter(user_id=user.pk).first()


# --- the staff UI's organizations --------------------------------------------------------------


def organizations_for(user: Any) -> QuerySet[Organization]:
    """The organizations a signed-in user is a member of (none for an anonymous one)."""
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user_id=user.pk).order_by("name", "id")


def pick_organization(user: Any, wanted_id: str | None) -> Organization | None:
    """The organization the user asked for if they belong to it, else their first one."""
    rows = organizations_for(user)
    if wanted_id:
        chosen = rows.filter(public_id=wanted_id).first()
        if chosen is not None:
            return chosen
    return rows.first()


def is_owner(organization: Organization, user: Any) -> bool:
    """Whether the user owns the organization (owners manage keys, domains, webhooks, pausing)."""
    return Membership.objects.filter(
        organization=organization, user_id=user.pk, role=Membership.Role.OWNER
    ).exists()
