"""An organization's people: owners invite members (with an initial password, or an invite link
the invitee opens to choose one), change roles and remove members. An organization always keeps
an owner: the last one can be neither removed nor made a member, however two owners race (the
owners' rows are locked while one changes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from inboxes.exceptions import MemberNotFound
from inboxes.models import Membership, Organization
from sendook.exceptions import Conflict, NotFound, ValidationFailed

INVITE_SALT = "sendook.invite"
INVITE_MAX_AGE_SECONDS = 7 * 24 * 3600


class LastOwner(Conflict):
    code = "last_owner"
    message = "An organization needs an owner"


class AlreadyMember(Conflict):
    code = "already_member"
    message = "Already a member of this organization"


class InviteInvalid(NotFound):
    code = "invite_invalid"
    message = "This invite link is not valid any more"


@dataclass(frozen=True)
class Invited:
    membership: Membership
    # The path segment of the invite link when the invitee still has to choose a password.
    token: str = ""


def _clean_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed.for_field(
            "email", f"Email: {raw.strip() or '(empty)'} is not a valid address."
        ) from None
    return email


def _clean_role(raw: str) -> str:
    if raw not in Membership.Role.values:
        raise ValidationFailed.for_field(
            "role", f"Role: {raw or '(empty)'} is not a role; choose owner or member."
        )
    return raw


def _check_password(password: str, user: Any) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationFailed.for_field(
            "password", "Password: " + " ".join(error.messages)
        ) from None


def invite_token(membership: Membership) -> str:
    """The invite link's token: it names the membership and stops working once the invitee has
    chosen a password (Django's password-reset token) or after a week."""
    user = membership.user
    return signing.dumps(
        {"m": membership.public_id, "t": default_token_generator.make_token(user)},
        salt=INVITE_SALT,
    )


@transaction.atomic
def invite_member(
    organization: Organization, *, email: str, role: str = "member", password: str = ""
) -> Invited:
    """A new member. A person who already has a login joins with it (their password is not
    changed); a new login gets `password`, or, without one, an invite link to choose it."""
    email = _clean_email(email)
    role = _clean_role(role)
    user_model = get_user_model()
    user = user_model.objects.filter(email__iexact=email).first()
    if (
        user is not None
        and Membership.objects.filter(organization=organization, user=user).exists()
    ):
        raise AlreadyMember(f"{email} is already a member of {organization.name}.")
    if user is None:
        user = user_model(username=email, email=email)
        if password:
            _check_password(password, user)
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    membership = Membership.objects.create(organization=organization, user=user, role=role)
    token = "" if user.has_usable_password() else invite_token(membership)
    return Invited(membership=membership, token=token)


def membership_of_invite(token: str) -> Membership:
    try:
        data = signing.loads(token, salt=INVITE_SALT, max_age=INVITE_MAX_AGE_SECONDS)
        membership = Membership.objects.select_related("user", "organization").get(
            public_id=data["m"]
        )
    except (signing.BadSignature, KeyError, TypeError, Membership.DoesNotExist):
        raise InviteInvalid() from None
    if not default_token_generator.check_token(membership.user, data["t"]):
        raise InviteInvalid()
    return membership


@transaction.atomic
def accept_invite(token: str, *, password: str) -> Membership:
    """The invitee's chosen password; the link then stops working."""
    membership = membership_of_invite(token)
    user = membership.user
    _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    return membership


def _lock_owners(organization: Organization) -> list[Membership]:
    """The owners' rows, locked in one order, so two owners changing each other at once
    cannot both succeed and leave nobody."""
    return list(
        Membership.objects.select_for_update()
        .filter(organization=organization, role=Membership.Role.OWNER)
        .order_by("id")
    )


def _locked(organization: Organization, membership: Membership) -> Membership:
    try:
        return (
            Membership.objects.select_for_update()
            .select_related("user")
            .get(organization=organization, pk=membership.pk)
        )
    except Membership.DoesNotExist:
        raise MemberNotFound() from None


@transaction.atomic
def change_role(organization: Organization, membership: Membership, *, role: str) -> Membership:
    role = _clean_role(role)
    owners = _lock_owners(organization)
    member = _locked(organization, membership)
    if member.role == Membership.Role.OWNER and role != Membership.Role.OWNER and len(owners) <= 1:
        raise LastOwner(
            f"{member.user.email} is the only owner of {organization.name}; make someone else "
            "an owner first."
        )
    if member.role != role:
        member.role = role
        member.save(update_fields=["role"])
    return member


@transaction.atomic
def remove_member(organization: Organization, membership: Membership) -> Membership:
    """The membership goes (threads assigned to it become unassigned); the login stays, for
    the person's other organizations."""
    owners = _lock_owners(organization)
    member = _locked(organization, membership)
    if member.role == Membership.Role.OWNER and len(owners) <= 1:
        raise LastOwner(
            f"{member.user.email} is the only owner of {organization.name} and cannot be "
            "removed; make someone else an owner first."
        )
    member.delete()
    return member
