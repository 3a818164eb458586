"""The staff UI's Blocked view and Lists page, through the Django test client: what a person
sees, the Release button, adding and removing entries, errors in words naming the value, and
who may change which list."""

from __future__ import annotations

import pytest

from inboxes.models import Membership
from inboxes.tests.factories import InboxFactory, MembershipFactory
from messages.models import ListEntry, Message
from messages.services import lists
from messages.services.provenance import SYSTEM
from messages.tests.inbound.mail import build_email
from sendook.events.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org, email="support@sendook.localhost")


@pytest.fixture
def blocked(org, inbox, django_capture_on_commit_callbacks):
    from messages.services.receive import receive_raw_email

    lists.add_entry(
        org, inbox=None, direction="receive", kind="block", value="spam.example", actor=SYSTEM
    )
    raw = build_email(
        sender="Bulk <deals@spam.example>", subject="Win <b>big</b>", text="Click here now"
    )
    with django_capture_on_commit_callbacks(execute=True):
        receive_raw_email(raw, recipients=[inbox.email], source="smtp")
    return Message.objects.get()


@pytest.fixture
def member_client(client, org):
    user = MembershipFactory(organization=org, role=Membership.Role.MEMBER).user
    client.force_login(user)
    return client


def test_the_blocked_view_lists_blocked_mail_and_the_sidebar_links_it(staff_client, blocked):
    page = staff_client.get("/blocked")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="blocked-link"' in html and 'href="/blocked"' in html
    assert blocked.public_id in html and "deals@spam.example" in html
    assert "Win &lt;b&gt;big&lt;/b&gt;" in html  # escaped, never rendered as markup
    assert "Click here now" in html and "spam.example" in html
    assert f"/blocked/{blocked.public_id}/release" in html
    # The inbox's thread list does not show it.
    assert blocked.public_id not in staff_client.get("/threads").content.decode()
    assert "Win" not in staff_client.get(f"/inboxes/{blocked.inbox.public_id}").content.decode()


def test_release_from_the_blocked_view_delivers_it_once(member_client, blocked):
    response = member_client.post(f"/blocked/{blocked.public_id}/release")
    assert response.status_code == 302 and response["Location"] == "/blocked"
    blocked.refresh_from_db()
    assert blocked.status == "received" and blocked.status_detail["releasedBy"]["type"] == "user"
    assert "Nothing is blocked." in member_client.get("/blocked").content.decode()
    # A second click (another tab) changes nothing.
    again = member_client.post(f"/blocked/{blocked.public_id}/release")
    assert again.status_code == 404
    assert Event.objects.filter(type="message.received").count() == 1
    thread_page = member_client.get(f"/threads/{blocked.thread.public_id}")
    assert "Click here now" in thread_page.content.decode()


def test_a_get_on_release_goes_back_to_the_page_and_releases_nothing(staff_client, blocked):
    response = staff_client.get(f"/blocked/{blocked.public_id}/release")
    assert response.status_code == 302
    assert Message.objects.get().status == "blocked"


def test_the_lists_page_adds_and_removes_entries(staff_client, inbox):
    response = staff_client.post(
        "/lists/add",
        {"direction": "receive", "type": "block", "value": "Ann@Spam.Example", "inbox": ""},
    )
    assert response.status_code == 302
    response = staff_client.post(
        "/lists/add",
        {
            "direction": "send",
            "type": "allow",
            "value": "customer.example",
            "inbox": inbox.public_id,
        },
    )
    assert response.status_code == 302
    page = staff_client.get("/lists").content.decode()
    assert "ann@spam.example" in page and "customer.example" in page and inbox.email in page
    entry = ListEntry.objects.get(value="ann@spam.example")
    assert entry.created_by["type"] == "user" and entry.inbox is None
    assert staff_client.post(f"/lists/{entry.public_id}/remove").status_code == 302
    assert list(ListEntry.objects.values_list("value", flat=True)) == ["customer.example"]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("*.spam.example", "wildcards"),
        ("https://spam.example", "not a URL"),
        ("two words", "spaces"),
        ("@spam.example", "without the @"),
    ],
)
def test_a_bad_value_is_a_form_error_naming_it(staff_client, value, words):
    response = staff_client.post(
        "/lists/add", {"direction": "receive", "type": "block", "value": value, "inbox": ""}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="list-error"' in html and "Address or domain:" in html and words in html
    from django.utils.html import escape

    assert escape(repr(value)) in html  # the value as typed
    assert ListEntry.objects.count() == 0


def test_a_duplicate_is_a_form_error_naming_the_value(staff_client):
    form = {"direction": "receive", "type": "block", "value": "spam.example", "inbox": ""}
    staff_client.post("/lists/add", form)
    response = staff_client.post("/lists/add", form)
    assert response.status_code == 409
    assert "spam.example is already on the receive block list" in response.content.decode()


def test_members_manage_receive_lists_but_only_owners_change_send_lists(member_client, org):
    made = member_client.post(
        "/lists/add", {"direction": "receive", "type": "block", "value": "a.example", "inbox": ""}
    )
    assert made.status_code == 302
    refused = member_client.post(
        "/lists/add", {"direction": "send", "type": "block", "value": "b.example", "inbox": ""}
    )
    assert refused.status_code == 403 and "Only owners" in refused.content.decode()
    owners = lists.add_entry(
        org, inbox=None, direction="send", kind="block", value="c.example", actor=SYSTEM
    )
    assert member_client.post(f"/lists/{owners.public_id}/remove").status_code == 403
    assert sorted(ListEntry.objects.values_list("value", flat=True)) == ["a.example", "c.example"]


def test_another_organizations_entries_and_blocked_mail_are_not_found(staff_client, other_org):
    theirs = lists.add_entry(
        other_org, inbox=None, direction="receive", kind="block", value="x.example", actor=SYSTEM
    )
    assert staff_client.post(f"/lists/{theirs.public_id}/remove").status_code == 404
    assert "x.example" not in staff_client.get("/lists").content.decode()
    foreign_inbox = InboxFactory(organization=other_org)
    response = staff_client.post(
        "/lists/add",
        {
            "direction": "receive",
            "type": "block",
            "value": "y.example",
            "inbox": foreign_inbox.public_id,
        },
    )
    assert response.status_code == 404
    assert ListEntry.objects.count() == 1


@pytest.fixture
def admin_client(client):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser(
        "root@example.com", "root@example.com", "pw-long-enough"
    )
    client.force_login(user)
    return client


def test_the_admin_adds_entries_checked_like_the_api_and_filters_and_releases_blocked_mail(
    admin_client, org, blocked
):
    bad = admin_client.post(
        "/admin/mail/listentry/add/",
        {"organization": org.pk, "direction": "receive", "kind": "block", "value": "*.x.example"},
    )
    assert bad.status_code == 200 and "wildcards" in bad.content.decode()
    good = admin_client.post(
        "/admin/mail/listentry/add/",
        {"organization": org.pk, "direction": "receive", "kind": "block", "value": "X.Example."},
    )
    assert good.status_code == 302
    entry = ListEntry.objects.get(value="x.example")
    assert entry.created_by["type"] == "user"
    assert "x.example" in admin_client.get("/admin/mail/listentry/").content.decode()

    listing = admin_client.get("/admin/mail/message/", {"status": "blocked"})
    assert blocked.public_id in listing.content.decode()
    released = admin_client.post(
        "/admin/mail/message/",
        {"action": "release_blocked", "_selected_action": [blocked.pk]},
    )
    assert released.status_code == 302
    blocked.refresh_from_db()
    assert blocked.status == "received"
    assert Event.objects.filter(type="message.received").count() == 1
