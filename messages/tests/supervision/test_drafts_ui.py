"""Drafts in the staff UI: an agent drafts through the API, a person finds the draft, finishes
it and sends it."""

import re

import pytest

from messages.models import Message
from messages.tests.mail_factories import MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db

BODY = {"to": ["ada@example.org"], "subject": "Your refund", "text": "Agent wrote this"}


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
def agent_draft(api_client, inbox):
    def create(body=None):
        response = api_client.post(
            f"/v1/inboxes/{inbox.public_id}/drafts", body or BODY, format="json"
        )
        assert response.status_code == 201, response.json()
        return response.json()

    return create


def _key(page: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)


def test_the_sidebar_counts_drafts_and_the_drafts_page_lists_them(staff_client, agent_draft):
    agent_draft()
    page = staff_client.get("/drafts").content.decode()
    assert 'aria-label="1 drafts"' in page
    assert "Your refund" in page and "drafted by agent key test" in page


def test_a_draft_opens_prefilled_and_a_person_edits_and_sends_it(
    staff_client, staff_user, agent_draft, post, sandbox
):
    draft = agent_draft()
    page = staff_client.get(f"/drafts/{draft['id']}").content.decode()
    assert 'value="ada@example.org"' in page and "Agent wrote this</textarea>" in page
    form = {"idempotency_key": _key(page), "to": "ada@example.org", "subject": "Your refund"}
    response = post(f"/drafts/{draft['id']}", {**form, "text": "Dana fixed it", "action": "send"})
    assert response.status_code == 302
    message = Message.objects.get(public_id=draft["id"])
    assert message.status == "queued" or message.status == "sent"
    assert response["Location"].endswith(f"#{draft['id']}")
    ((captured, _, _),) = sandbox()
    assert captured.get_body(("plain",)).get_content().strip() == "Dana fixed it"
    assert message.created_by["type"] == "api_key"  # the agent wrote it
    assert 'aria-label="1 drafts"' not in staff_client.get("/drafts").content.decode()


def test_the_draft_form_submitted_twice_sends_once(staff_client, agent_draft, post, sandbox):
    draft = agent_draft()
    page = staff_client.get(f"/drafts/{draft['id']}").content.decode()
    form = {"idempotency_key": _key(page), "to": "ada@example.org", "subject": "S", "text": "T"}
    first = post(f"/drafts/{draft['id']}", {**form, "action": "send"})
    again = post(f"/drafts/{draft['id']}", {**form, "action": "send"})
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert len(sandbox()) == 1


def test_saving_a_draft_keeps_the_edits_and_sends_nothing(staff_client, agent_draft, post, sandbox):
    draft = agent_draft()
    form = {"to": "bob@example.org", "subject": "Changed", "text": "Later", "action": "save"}
    response = post(f"/drafts/{draft['id']}", form)
    assert response.status_code == 302
    message = Message.objects.get(public_id=draft["id"])
    assert message.status == "draft" and message.to == ["bob@example.org"]
    assert message.subject == "Changed" and message.text == "Later"
    assert "Draft saved." in staff_client.get(response["Location"]).content.decode()
    assert sandbox() == []


def test_a_draft_sent_from_the_page_under_an_approval_policy_waits_for_approval(
    staff_client, agent_draft, post, policy, sandbox
):
    policy(sendPolicy={"approval": "always"})
    draft = agent_draft()
    page = staff_client.get(f"/drafts/{draft['id']}").content.decode()
    form = {"idempotency_key": _key(page), "to": "ada@example.org", "subject": "S", "text": "T"}
    post(f"/drafts/{draft['id']}", {**form, "action": "send"})
    assert Message.objects.get(public_id=draft["id"]).status == "pending_approval"
    assert sandbox() == []


def test_sending_a_draft_without_recipients_from_the_page_says_so(staff_client, agent_draft, post):
    draft = agent_draft({"subject": "Nobody", "text": "Hi"})
    page = staff_client.get(f"/drafts/{draft['id']}").content.decode()
    form = {"idempotency_key": _key(page), "to": "", "subject": "Nobody", "text": "Hi"}
    response = post(f"/drafts/{draft['id']}", {**form, "action": "send"})
    assert response.status_code == 400
    assert "Add at least one recipient" in response.content.decode()
    assert Message.objects.get(public_id=draft["id"]).status == "draft"


def test_a_subject_with_a_line_break_is_refused_on_the_draft_page(agent_draft, post):
    draft = agent_draft()
    form = {"to": "ada@example.org", "subject": "Hi\r\nBcc: eve@example.org", "text": "T"}
    response = post(f"/drafts/{draft['id']}", {**form, "action": "save"})
    assert response.status_code == 400
    assert Message.objects.get(public_id=draft["id"]).subject == "Your refund"


def test_deleting_a_draft_from_the_page(agent_draft, post):
    draft = agent_draft()
    response = post(f"/drafts/{draft['id']}", {"action": "delete"})
    assert response["Location"] == "/drafts"
    assert not Message.objects.filter(public_id=draft["id"]).exists()


def test_a_reply_draft_shows_in_its_thread_as_a_draft_the_staff_can_open(
    staff_client, agent_draft, inbox
):
    parent = MessageFactory(
        thread=ThreadFactory(inbox=inbox),
        direction="inbound",
        status="received",
        from_email="ada@example.org",
        subject="Question",
        to=[inbox.email],
    )
    draft = agent_draft({"inReplyTo": parent.public_id, "text": "Proposed answer"})
    page = staff_client.get(f"/threads/{parent.thread.public_id}").content.decode()
    assert "Proposed answer" in page
    assert f'href="/drafts/{draft["id"]}"' in page and "Draft, not sent" in page
    # The reply form still answers the received message, not the draft.
    assert f'name="parent" value="{parent.public_id}"' in page


def test_a_new_draft_is_not_in_the_thread_list_until_it_is_sent(staff_client, agent_draft):
    agent_draft()
    assert "Your refund" not in staff_client.get("/threads").content.decode()


def test_compose_saves_a_draft_written_by_the_person(staff_client, staff_user, inbox, post):
    response = post(
        "/compose",
        {
            "inbox": inbox.public_id,
            "to": "",
            "subject": "Half done",
            "text": "",
            "action": "save_draft",
        },
    )
    draft = Message.objects.get(status="draft")
    assert response["Location"] == f"/drafts/{draft.public_id}"
    assert draft.subject == "Half done" and draft.created_by["type"] == "user"


def test_another_organizations_draft_is_a_404_on_the_page(
    staff_client, post, other_org, other_api_client
):
    from inboxes.tests.factories import InboxFactory

    theirs = InboxFactory(organization=other_org)
    body = other_api_client.post(
        f"/v1/inboxes/{theirs.public_id}/drafts", BODY, format="json"
    ).json()
    assert staff_client.get(f"/drafts/{body['id']}").status_code == 404
    assert post(f"/drafts/{body['id']}", {"action": "delete"}).status_code == 404
    assert Message.objects.filter(public_id=body["id"]).exists()


def test_an_agents_draft_a_person_sends_says_who_wrote_it_and_who_sent_it(
    staff_client, staff_user, agent_draft, post, api_client, inbox
):
    draft = agent_draft()
    page = staff_client.get(f"/drafts/{draft['id']}").content.decode()
    form = {"idempotency_key": _key(page), "to": "ada@example.org", "subject": "Your refund"}
    post(f"/drafts/{draft['id']}", {**form, "text": "Checked", "action": "send"})
    sent = api_client.get(f"/v1/inboxes/{inbox.public_id}/messages/{draft['id']}").json()
    assert sent["createdBy"]["type"] == "api_key"
    assert sent["sentBy"] == {
        "type": "user",
        "id": str(staff_user.pk),
        "name": staff_user.get_full_name() or staff_user.get_username(),
    }
    thread = staff_client.get(f"/threads/{sent['threadId']}").content.decode()
    assert "written by agent key" in thread and f"sent by {sent['sentBy']['name']}" in thread


def test_a_draft_its_own_author_sends_has_no_separate_sender(api_client, agent_draft, inbox):
    draft = agent_draft()
    response = api_client.post(f"/v1/inboxes/{inbox.public_id}/drafts/{draft['id']}/send")
    assert response.status_code == 202
    assert "sentBy" not in response.json() and response.json()["createdBy"]["type"] == "api_key"
