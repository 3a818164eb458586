"""The staff UI's side of supervision: the Approvals page, undo and the pause switch."""

import pytest

from inboxes.models import Membership
from inboxes.tests.factories import InboxFactory, MembershipFactory
from messages.models import Message

pytestmark = pytest.mark.django_db

BODY = {"to": ["ada@example.org"], "subject": "Hello", "text": "Agent draft"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def post(staff_client, django_capture_on_commit_callbacks):
    def submit(path, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return staff_client.post(path, data or {})

    return submit


@pytest.fixture
def held(policy, send, url):
    policy(sendPolicy={"approval": "first_contact"})
    return send(url("/send"), BODY).json()


def test_the_sidebar_counts_held_messages_and_the_page_shows_why_each_waits(staff_client, held):
    page = staff_client.get("/approvals").content.decode()
    assert 'aria-label="1 waiting for approval"' in page
    assert "written by agent key test; held: first contact (ada@example.org)" in page
    assert "Agent draft" in page


def test_approving_with_an_edit_from_the_page_sends_the_edit_once(
    staff_client, staff_user, held, post, sandbox
):
    staff_user.first_name = "Dana"
    staff_user.save()
    response = post(
        f"/approvals/{held['id']}/approve", {"subject": "Hello", "text": "Edited by Dana"}
    )
    assert response.status_code == 302
    (captured,) = sandbox()
    assert captured[0].get_body(("plain",)).get_content().strip() == "Edited by Dana"
    message = Message.objects.get(public_id=held["id"])
    assert message.approved_by["name"] == "Dana" and message.review["originalText"] == "Agent draft"
    thread = staff_client.get(f"/threads/{message.thread.public_id}").content.decode()
    assert "sent by agent key test, approved by Dana, edited before approval" in thread
    assert "<del>Agent draft</del>" in thread
    assert post(f"/approvals/{held['id']}/approve", {}).status_code == 404  # no longer held
    assert len(sandbox()) == 1


def test_an_edited_subject_with_a_line_break_is_refused_on_the_page(held, post, sandbox):
    response = post(
        f"/approvals/{held['id']}/approve", {"subject": "Hi\r\nBcc: x@example.org", "text": "t"}
    )
    assert response.status_code == 400
    assert "one line" in response.content.decode()
    assert Message.objects.get(public_id=held["id"]).status == "pending_approval"
    assert sandbox() == []


def test_declining_from_the_page_keeps_the_reason(held, post, sandbox):
    post(f"/approvals/{held['id']}/decline", {"reason": "Not this customer"})
    message = Message.objects.get(public_id=held["id"])
    assert message.status == "declined" and message.status_reason == "Not this customer"
    assert sandbox() == []


def test_another_organizations_held_message_is_a_404_on_the_page(
    staff_client, post, other_org, other_api_client, django_capture_on_commit_callbacks
):
    theirs = InboxFactory(organization=other_org, send_approval="always")
    with django_capture_on_commit_callbacks(execute=True):
        body = other_api_client.post(
            f"/v1/inboxes/{theirs.public_id}/messages/send", BODY, format="json"
        ).json()
    assert post(f"/approvals/{body['id']}/approve", {}).status_code == 404
    assert post(f"/messages/{body['id']}/undo").status_code == 404
    assert Message.objects.get(public_id=body["id"]).status == "pending_approval"


def test_a_staff_send_in_a_hold_window_offers_undo_and_undo_stops_it(
    staff_client, policy, inbox, post, sandbox
):
    import re

    policy(sendPolicy={"holdSeconds": 10})
    page = staff_client.get(f"/compose?inbox={inbox.public_id}").content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    form = {"inbox": inbox.public_id, "idempotency_key": key, "to": "ada@example.org"}
    response = post("/compose", {**form, "subject": "Hi", "text": "Hello"})
    message = Message.objects.get(direction="outbound")
    assert message.status == "scheduled"
    thread = staff_client.get(response["Location"].split("#")[0]).content.decode()
    assert re.search(r"Sending in (9|10) s — <button[^>]*>Undo</button>", thread)
    post(f"/messages/{message.public_id}/undo")
    message.refresh_from_db()
    assert message.status == "cancelled" and sandbox() == []


def test_an_owner_pauses_and_resumes_the_organization_and_a_member_cannot(client, org, send, url):
    owner = MembershipFactory(organization=org, role=Membership.Role.OWNER).user
    member = MembershipFactory(organization=org, role=Membership.Role.MEMBER).user
    client.force_login(owner)
    assert client.post("/approvals/pause", {"paused": "1"}).status_code == 302
    org.refresh_from_db()
    assert org.sending_paused is True
    assert "Sending is paused" in client.get("/approvals").content.decode()
    assert send(url("/send"), BODY).json()["hold"]["reason"] == "organization_paused"
    client.post("/approvals/pause", {"paused": "0"})
    org.refresh_from_db()
    assert org.sending_paused is False

    client.force_login(member)
    response = client.post("/approvals/pause", {"paused": "1"})
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.sending_paused is False
