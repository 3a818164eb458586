"""Members: owners invite (initial password or invite link), change roles and remove members;
the last owner stays; members get 403 on owner pages and do not see owner links."""

import re
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from inboxes.models import Membership
from inboxes.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def owner(org, staff_user):
    return Membership.objects.get(organization=org, user=staff_user)


@pytest.fixture
def member_client(client, org):
    membership = MembershipFactory(organization=org, role="member")
    client.force_login(membership.user)
    return client


def test_owners_see_the_members_page_and_its_sidebar_link(staff_client, owner, org):
    colleague = MembershipFactory(organization=org, role="member")
    page = staff_client.get("/members").content.decode()
    assert '<a href="/members" id="members-link" class="active">' in page
    assert colleague.user.email in page and owner.user.email in page
    assert f'id="{colleague.public_id}"' in page
    assert f'aria-label="Remove {colleague.user.email}"' in page
    assert f"Role of {colleague.user.email}" in page


def test_members_get_403_on_owner_pages_and_see_no_owner_links(member_client, org):
    for path in ("/members", "/keys"):
        response = member_client.get(path)
        assert response.status_code == 403, path
        assert "Back to inbox" in response.content.decode()
    someone = MembershipFactory(organization=org, role="member")
    for path in (
        "/members/invite",
        f"/members/{someone.public_id}/role",
        f"/members/{someone.public_id}/remove",
    ):
        assert member_client.post(
            path, {"email": "x@example.com", "role": "owner"}
        ).status_code == (403)
    someone.refresh_from_db()
    assert someone.role == "member"
    assert not get_user_model().objects.filter(email="x@example.com").exists()
    home = member_client.get("/compose").content.decode()
    assert 'id="keys-link"' not in home and 'id="members-link"' not in home
    assert 'data-key="c"' in home


def test_an_owner_invites_a_member_with_an_initial_password_who_can_log_in(
    staff_client, org, client
):
    response = staff_client.post(
        "/members/invite",
        {
            "email": " New.Person@Example.com ",
            "role": "member",
            "how": "password",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 200
    assert "new.person@example.com is now a member" in response.content.decode()
    membership = Membership.objects.get(organization=org, user__email="new.person@example.com")
    assert membership.role == "member" and membership.public_id.startswith("user_")
    staff_client.logout()
    login = client.post("/login", {"username": "new.person@example.com", "password": PASSWORD})
    assert login.status_code == 302 and login["Location"] == "/"


def test_an_invite_link_lets_the_invitee_choose_a_password_once(staff_client, org, client):
    response = staff_client.post(
        "/members/invite", {"email": "linked@example.com", "role": "owner", "how": "link"}
    )
    page = response.content.decode()
    link = re.search(r'id="invite-link" value="http://testserver(/join/[^"]+)"', page).group(1)
    membership = Membership.objects.get(organization=org, user__email="linked@example.com")
    assert membership.role == "owner" and not membership.user.has_usable_password()
    staff_client.logout()

    join = client.get(link)
    assert (
        join.status_code == 200
        and "Choose a password for linked@example.com" in join.content.decode()
    )
    short = client.post(link, {"new_password1": "abc", "new_password2": "abc"})
    assert (
        short.status_code == 400
        and "Password: This password is too short" in short.content.decode()
    )
    done = client.post(link, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/"
    assert client.get("/members").status_code == 200  # signed in, as an owner
    client.logout()
    assert client.get(link).status_code == 404  # used: the link stops working
    assert client.get("/join/forged-token").status_code == 404


def test_bad_invites_are_form_errors_naming_the_value(staff_client, org, owner):
    cases = [
        (
            {"email": "not-an-email", "role": "member", "how": "link"},
            "Email: not-an-email is not a valid address.",
        ),
        (
            {"email": "a@example.com", "role": "admin", "how": "link"},
            "Role: admin is not a role; choose owner or member.",
        ),
        (
            {"email": "a@example.com", "role": "member", "how": "password", "password": ""},
            "Password: enter an initial password",
        ),
        (
            {"email": "a@example.com", "role": "member", "how": "password", "password": "123"},
            "Password: This password is too short",
        ),
        ({"email": owner.user.email, "role": "member", "how": "link"}, "is already a member of"),
    ]
    for data, message in cases:
        response = staff_client.post("/members/invite", data)
        assert response.status_code in (400, 409), data
        assert message in response.content.decode(), data
    assert Membership.objects.filter(organization=org).count() == 1
    assert not get_user_model().objects.filter(email="a@example.com").exists()


def test_an_existing_login_joins_with_its_own_password(staff_client, other_org):
    other = MembershipFactory(organization=other_org)
    other.user.set_password("their own one")
    other.user.save()
    response = staff_client.post(
        "/members/invite",
        {"email": other.user.email, "role": "member", "how": "password", "password": PASSWORD},
    )
    assert response.status_code == 200
    other.user.refresh_from_db()
    assert other.user.check_password("their own one")


def test_roles_change_and_members_are_removed(staff_client, org):
    colleague = MembershipFactory(organization=org, role="member")
    assert (
        staff_client.post(f"/members/{colleague.public_id}/role", {"role": "owner"}).status_code
        == 302
    )
    colleague.refresh_from_db()
    assert colleague.role == "owner"
    assert staff_client.post(f"/members/{colleague.public_id}/remove").status_code == 302
    assert not Membership.objects.filter(pk=colleague.pk).exists()
    assert get_user_model().objects.filter(pk=colleague.user_id).exists()  # the login stays


def test_the_last_owner_can_be_neither_demoted_nor_removed(staff_client, owner):
    response = staff_client.post(f"/members/{owner.public_id}/role", {"role": "member"})
    assert response.status_code == 409
    assert "is the only owner of" in response.content.decode()
    assert "make someone else an owner first" in response.content.decode()
    response = staff_client.post(f"/members/{owner.public_id}/remove")
    assert response.status_code == 409 and "cannot be removed" in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == "owner"


def test_another_organizations_member_is_404(staff_client, other_org):
    theirs = MembershipFactory(organization=other_org, role="member")
    assert (
        staff_client.post(f"/members/{theirs.public_id}/role", {"role": "owner"}).status_code == 404
    )
    assert staff_client.post(f"/members/{theirs.public_id}/remove").status_code == 404
    theirs.refresh_from_db()
    assert theirs.role == "member"


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    from django.db import connections

    from inboxes import members as people
    from inboxes.tests.factories import OrganizationFactory

    organization = OrganizationFactory()
    one = MembershipFactory(organization=organization, role="owner")
    two = MembershipFactory(organization=organization, role="owner")
    barrier = threading.Barrier(2)
    outcomes = []

    def demote(membership):
        try:
            barrier.wait()
            people.change_role(organization, membership, role="member")
            outcomes.append("ok")
        except people.LastOwner:
            outcomes.append("last_owner")
        finally:
            connections.close_all()

    workers = [threading.Thread(target=demote, args=(m,)) for m in (one, two)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(outcomes) == ["last_owner", "ok"]
    assert Membership.objects.filter(organization=organization, role="owner").count() == 1
