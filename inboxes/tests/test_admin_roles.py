"""In the admin, a staff login manages keys, domains, webhooks and memberships only as an owner."""

import pytest
from django.contrib.auth.models import Permission

from inboxes.models import ApiKey, Domain, Membership
from inboxes.services import create_api_key
from inboxes.tests.factories import DomainFactory, MembershipFactory
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db


def staff(client, organization, role):
    user = MembershipFactory(organization=organization, role=role).user
    user.is_staff = True
    user.save()
    # Every model permission: only the role may stand between a member and the change.
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["inboxes", "webhooks"])
    )
    client.force_login(user)
    return client


@pytest.fixture
def rows(org, other_org):
    key = create_api_key(org, name="agent").api_key
    domain = DomainFactory(organization=org, name="acme.test")
    webhook = Webhook.objects.create(
        organization=org,
        url="https://hooks.example.com/",
        events=["inbox.created"],
        secret="whsec_" + "A" * 44,
    )
    theirs = create_api_key(other_org, name="theirs").api_key
    return {"apikey": key, "domain": domain, "webhook": webhook, "theirs": theirs}


def change_url(row):
    return f"/admin/{row._meta.app_label}/{row._meta.model_name}/{row.pk}/change/"


def delete_url(row):
    return f"/admin/{row._meta.app_label}/{row._meta.model_name}/{row.pk}/delete/"


@pytest.mark.parametrize("name", ["apikey", "domain", "webhook"])
def test_a_member_cannot_change_or_delete_what_owners_manage(client, org, rows, name):
    member = staff(client, org, Membership.Role.MEMBER)
    row = rows[name]
    page = member.get(change_url(row))
    assert page.status_code == 200 and b'name="_save"' not in page.content  # read-only
    assert member.post(change_url(row), {"name": "changed"}).status_code == 403
    assert member.post(delete_url(row), {"post": "yes"}).status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()


def test_an_owner_can_manage_them(client, org, rows):
    owner = staff(client, org, Membership.Role.OWNER)
    page = owner.get(change_url(rows["domain"]))
    assert page.status_code == 200 and b'name="_save"' in page.content
    assert owner.post(delete_url(rows["webhook"]), {"post": "yes"}).status_code == 302
    assert not Webhook.objects.filter(pk=rows["webhook"].pk).exists()


def test_staff_see_only_their_own_organizations_rows(client, org, rows):
    owner = staff(client, org, Membership.Role.OWNER)
    listing = owner.get("/admin/inboxes/apikey/").content.decode()
    assert rows["apikey"].prefix in listing and rows["theirs"].prefix not in listing
    assert owner.get(change_url(rows["theirs"])).status_code in (302, 404)
    assert ApiKey.objects.filter(pk=rows["theirs"].pk, revoked_at__isnull=True).exists()


def test_a_member_cannot_make_themself_an_owner(client, org):
    member = staff(client, org, Membership.Role.MEMBER)
    membership = Membership.objects.get(organization=org, role=Membership.Role.MEMBER)
    response = member.post(
        change_url(membership),
        {"user": membership.user_id, "organization": org.pk, "role": "owner"},
    )
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.role == Membership.Role.MEMBER and Domain.objects.count() == 0


def test_an_owner_sees_and_edits_a_keys_scopes_inbox_limit_and_approval(client, org, rows):
    from inboxes.tests.factories import InboxFactory

    first, second = InboxFactory(organization=org), InboxFactory(organization=org)
    owner = staff(client, org, Membership.Role.OWNER)
    key = rows["apikey"]
    listing = owner.get("/admin/inboxes/apikey/").content.decode()
    assert "all" in listing
    page = owner.get(change_url(key)).content.decode()
    assert 'value="messages:send"' in page and first.public_id in page
    response = owner.post(
        change_url(key),
        {
            "name": "agent",
            "scopes": ["messages:send", "messages:read"],
            "require_approval": "on",
            "limit_inboxes": "on",
            "inboxes": [second.public_id],
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    key.refresh_from_db()
    assert key.scopes == ["messages:read", "messages:send"]
    assert key.inbox_ids == [second.public_id] and key.require_approval is True
    # Unticking the limit gives every inbox back; no inbox ticked with the limit is none.
    owner.post(change_url(key), {"name": "agent", "scopes": ["messages:read"]})
    key.refresh_from_db()
    assert key.inbox_ids is None and key.require_approval is False
    owner.post(
        change_url(key), {"name": "agent", "scopes": ["messages:read"], "limit_inboxes": "on"}
    )
    key.refresh_from_db()
    assert key.inbox_ids == []
