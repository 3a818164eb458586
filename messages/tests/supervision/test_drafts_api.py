"""Drafts through the API: written in parts, kept out of the mail lists, sent once through the
same send path and policies as any send."""

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from messages.models import Message
from messages.tests.mail_factories import MessageFactory, ThreadFactory
from sendook.events.models import Event

pytestmark = pytest.mark.django_db

BODY = {"to": ["ada@example.org"], "subject": "Hello", "text": "Hi Ada"}


@pytest.fixture
def drafts(inbox):
    def build(path=""):
        return f"/v1/inboxes/{inbox.public_id}/drafts{path}"

    return build


@pytest.fixture
def draft(api_client, drafts):
    def create(body=None):
        response = api_client.post(drafts(), body if body is not None else BODY, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return create


@pytest.fixture
def parent(inbox):
    return MessageFactory(
        thread=ThreadFactory(inbox=inbox),
        direction="inbound",
        status="received",
        from_email="ada@example.org",
        from_name="Ada",
        subject="Question",
        message_id="<q1@example.org>",
        to=[inbox.email],
    )


def test_an_empty_draft_is_accepted_and_shown_as_a_draft(draft, api_client, drafts):
    body = draft({})
    assert body["status"] == "draft" and body["to"] == [] and body["subject"] == ""
    assert body["createdBy"]["type"] == "api_key"
    listed = api_client.get(drafts()).json()
    assert [item["id"] for item in listed] == [body["id"]]
    assert api_client.get(drafts(f"/{body['id']}")).json()["status"] == "draft"


def test_drafts_are_listed_newest_first_and_paginated(draft, api_client, drafts):
    ids = [draft({"subject": f"Draft {n}"})["id"] for n in range(3)]
    first = api_client.get(drafts("?limit=2"))
    assert [item["id"] for item in first.json()] == ids[::-1][:2]
    assert 'rel="next"' in first.headers["Link"]


def test_a_draft_is_not_sent_mail_in_message_and_thread_lists(
    draft, api_client, inbox, parent, sandbox
):
    own = draft()
    reply = draft({"inReplyTo": parent.public_id, "text": "Draft answer"})
    messages = api_client.get(f"/v1/inboxes/{inbox.public_id}/messages").json()
    assert [item["id"] for item in messages] == [parent.public_id]
    threads = api_client.get(f"/v1/inboxes/{inbox.public_id}/threads").json()
    assert [thread["id"] for thread in threads] == [parent.thread.public_id]
    assert threads[0]["messageCount"] == 1 and threads[0]["messages"] == [parent.public_id]
    detail = api_client.get(f"/v1/inboxes/{inbox.public_id}/threads/{reply['threadId']}").json()
    assert [item["id"] for item in detail["messages"]] == [parent.public_id]
    assert "Draft answer" not in detail["preview"]
    assert api_client.get(f"/v1/inboxes/{inbox.public_id}/messages/{own['id']}").status_code == 404
    assert sandbox() == []
    assert not Event.objects.filter(type__startswith="message.").exists()


def test_a_reply_draft_starts_as_the_reply_and_every_part_is_editable(draft, parent, inbox):
    body = draft({"inReplyTo": parent.public_id, "text": "Thanks"})
    assert body["threadId"] == parent.thread.public_id
    assert body["subject"] == "Re: Question"
    assert body["to"] == ["Ada <ada@example.org>"]
    assert body["inReplyTo"] == "<q1@example.org>"
    assert body["references"] == ["<q1@example.org>"]
    edited = draft({"inReplyTo": parent.public_id, "to": ["bob@example.org"], "subject": "Other"})
    assert edited["to"] == ["bob@example.org"] and edited["subject"] == "Other"


def test_a_reply_draft_sent_threads_with_its_parent(
    draft, send, drafts, parent, api_client, inbox, sandbox
):
    body = draft({"inReplyTo": parent.public_id, "text": "Thanks"})
    response = send(drafts(f"/{body['id']}/send"), {})
    assert response.status_code == 202
    sent = response.json()
    assert sent["id"] == body["id"] and sent["status"] == "queued"
    ((captured, _, _),) = sandbox()
    assert captured["In-Reply-To"] == "<q1@example.org>"
    assert captured["Subject"] == "Re: Question"
    thread = api_client.get(f"/v1/inboxes/{inbox.public_id}/threads/{sent['threadId']}").json()
    assert [item["id"] for item in thread["messages"]] == [parent.public_id, sent["id"]]
    assert thread["messageCount"] == 2 and thread["preview"] == "Thanks"
    assert api_client.get(drafts()).json() == []


def test_a_new_draft_sent_becomes_a_thread_of_its_own(draft, send, drafts, api_client, inbox):
    body = draft({"subject": "First"})
    api_client.patch(
        drafts(f"/{body['id']}"), {"subject": "Final", "to": ["a@example.org"]}, format="json"
    )
    api_client.patch(drafts(f"/{body['id']}"), {"text": "Body"}, format="json")
    send(drafts(f"/{body['id']}/send"), {})
    (thread,) = api_client.get(f"/v1/inboxes/{inbox.public_id}/threads").json()
    assert thread["subject"] == "Final" and thread["messageCount"] == 1
    assert thread["messages"] == [body["id"]]


def test_patch_changes_only_the_fields_given(draft, api_client, drafts):
    body = draft()
    response = api_client.patch(drafts(f"/{body['id']}"), {"text": "New text"}, format="json")
    assert response.status_code == 200
    changed = response.json()
    assert changed["text"] == "New text" and changed["subject"] == "Hello"
    assert changed["to"] == ["ada@example.org"]


def test_attachments_on_a_draft_are_sent_and_replaced_by_patch(
    draft, api_client, drafts, send, sandbox
):
    first = {"name": "a.txt", "content": base64.b64encode(b"first").decode()}
    second = {"name": "b.txt", "content": base64.b64encode(b"second").decode()}
    body = draft({**BODY, "attachments": [first]})
    assert [a["name"] for a in body["attachments"]] == ["a.txt"]
    patched = api_client.patch(drafts(f"/{body['id']}"), {"attachments": [second]}, format="json")
    assert [a["name"] for a in patched.json()["attachments"]] == ["b.txt"]
    shown = api_client.get(drafts(f"/{body['id']}")).json()
    assert base64.b64decode(shown["attachments"][0]["content"]) == b"second"
    send(drafts(f"/{body['id']}/send"), {})
    ((captured, _, _),) = sandbox()
    names = [part.get_filename() for part in captured.iter_attachments()]
    assert names == ["b.txt"]


def test_a_draft_without_recipients_cannot_be_sent(draft, send, drafts, sandbox):
    body = draft({"subject": "No one yet", "text": "Hi"})
    response = send(drafts(f"/{body['id']}/send"), {})
    assert response.status_code == 400
    assert "to" in response.json()["fields"]
    assert Message.objects.get(public_id=body["id"]).status == "draft"
    assert sandbox() == []


def test_a_draft_without_a_body_cannot_be_sent(draft, send, drafts):
    body = draft({"to": ["ada@example.org"]})
    response = send(drafts(f"/{body['id']}/send"), {})
    assert response.status_code == 400 and "text" in response.json()["fields"]


def test_a_draft_send_under_an_approval_policy_is_held(draft, send, drafts, policy, sandbox):
    policy(sendPolicy={"approval": "always"})
    body = draft()
    response = send(drafts(f"/{body['id']}/send"), {})
    assert response.status_code == 202
    held = response.json()
    assert held["id"] == body["id"] and held["status"] == "pending_approval"
    assert held["hold"] == {"reason": "always", "recipients": ["ada@example.org"]}
    assert sandbox() == []
    assert Event.objects.filter(type="message.pending_approval").count() == 1


def test_a_draft_with_a_send_at_is_scheduled_when_sent(draft, send, drafts, sandbox):
    when = (timezone.now() + timedelta(hours=2)).isoformat()
    body = draft({**BODY, "sendAt": when})
    sent = send(drafts(f"/{body['id']}/send"), {}).json()
    assert sent["status"] == "scheduled" and "sendAt" in sent
    assert sandbox() == []


def test_a_sent_draft_can_no_longer_be_edited_deleted_or_sent_again(
    draft, send, drafts, api_client, sandbox
):
    body = draft()
    send(drafts(f"/{body['id']}/send"), {})
    patched = api_client.patch(drafts(f"/{body['id']}"), {"text": "Too late"}, format="json")
    assert patched.status_code == 409
    assert "sent" in patched.json()["fields"]["status"][0]
    assert api_client.delete(drafts(f"/{body['id']}")).status_code == 409
    assert send(drafts(f"/{body['id']}/send"), {}).status_code == 409
    assert len(sandbox()) == 1
    assert Message.objects.get(public_id=body["id"]).text == "Hi Ada"


def test_a_repeated_draft_send_with_one_idempotency_key_sends_once(draft, send, drafts, sandbox):
    body = draft()
    headers = {"HTTP_IDEMPOTENCY_KEY": "draft-send-1"}
    first = send(drafts(f"/{body['id']}/send"), {}, **headers)
    again = send(drafts(f"/{body['id']}/send"), {}, **headers)
    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(sandbox()) == 1


def test_draft_sends_spend_the_send_budget(draft, send, drafts, settings, org):
    settings.SENDOOK_SEND_RATE_LIMIT = "1/h"
    first, second = draft(), draft()
    assert send(drafts(f"/{first['id']}/send"), {}).status_code == 202
    assert send(drafts(f"/{second['id']}/send"), {}).status_code == 429
    assert Message.objects.get(public_id=second["id"]).status == "draft"


def test_creating_and_editing_drafts_does_not_spend_the_send_budget(draft, settings, drafts, send):
    settings.SENDOOK_SEND_RATE_LIMIT = "1/h"
    for _ in range(3):
        draft()
    assert send(drafts(f"/{draft()['id']}/send"), {}).status_code == 202


def test_deleting_a_draft_removes_it_and_its_empty_thread(draft, api_client, drafts):
    body = draft()
    assert api_client.delete(drafts(f"/{body['id']}")).status_code == 204
    assert api_client.get(drafts(f"/{body['id']}")).status_code == 404
    assert not Message.objects.filter(public_id=body["id"]).exists()
    assert not Message.objects.model.thread.field.related_model.objects.filter(
        public_id=body["threadId"]
    ).exists()


def test_another_organizations_draft_is_not_found(draft, other_api_client, inbox, drafts, send):
    body = draft()
    path = drafts(f"/{body['id']}")
    assert other_api_client.get(path).status_code == 404
    assert other_api_client.get(drafts()).status_code == 404
    assert other_api_client.patch(path, {"text": "x"}, format="json").status_code == 404
    assert other_api_client.delete(path).status_code == 404
    assert send(f"{path}/send", {}, client=other_api_client).status_code == 404
    assert other_api_client.post(drafts(), BODY, format="json").status_code == 404
    assert Message.objects.get(public_id=body["id"]).text == "Hi Ada"


def test_another_inboxs_draft_is_not_found(draft, api_client, org):
    from inboxes.tests.factories import InboxFactory

    body = draft()
    other = InboxFactory(organization=org)
    path = f"/v1/inboxes/{other.public_id}/drafts/{body['id']}"
    assert api_client.get(path).status_code == 404
    assert api_client.patch(path, {"text": "x"}, format="json").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "Hi\r\nBcc: eve@example.org"}, "subject"),
        ({"to": ["not an address"]}, "to"),
        ({"sendAt": "2000-01-01T00:00:00Z"}, "sendAt"),
        ({"sendAt": "2999-01-01T00:00:00Z"}, "sendAt"),
        ({"inReplyTo": "msg_nope"}, "inReplyTo"),
        ({"attachments": [{"content": "not base64!"}]}, "attachments"),
    ],
)
def test_bad_draft_input_is_refused_naming_the_field(api_client, drafts, body, field):
    response = api_client.post(drafts(), body, format="json")
    assert response.status_code == 400
    assert any(name.startswith(field) for name in response.json()["fields"]), response.json()
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "Hi\nBcc: eve@example.org"}, "subject"),
        ({"sendAt": "2000-01-01T00:00:00Z"}, "sendAt"),
        ({"inReplyTo": "msg_x"}, "inReplyTo"),
    ],
)
def test_a_bad_patch_changes_nothing(draft, api_client, drafts, body, field):
    created = draft()
    response = api_client.patch(drafts(f"/{created['id']}"), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"], response.json()
    shown = api_client.get(drafts(f"/{created['id']}")).json()
    assert shown["subject"] == "Hello" and "sendAt" not in shown


def test_a_reply_draft_to_a_draft_is_refused(draft, api_client, drafts):
    first = draft()
    response = api_client.post(drafts(), {"inReplyTo": first["id"]}, format="json")
    assert response.status_code == 400 and "inReplyTo" in response.json()["fields"]


def test_creating_editing_and_deleting_a_draft_are_events(draft, api_client, drafts):
    body = draft()
    api_client.patch(drafts(f"/{body['id']}"), {"text": "Edited"}, format="json")
    api_client.delete(drafts(f"/{body['id']}"))
    events = api_client.get("/v1/events").json()
    kinds = [event["event"] for event in events if event.get("messageId") == body["id"]]
    assert sorted(kinds) == ["draft.created", "draft.deleted", "draft.updated"]


def test_a_stale_send_task_for_a_draft_sends_nothing(draft, sandbox):
    from messages.tasks import send_message

    body = draft()
    send_message(Message.objects.get(public_id=body["id"]).pk)
    assert sandbox() == []
    assert Message.objects.get(public_id=body["id"]).status == "draft"


def test_replaced_and_deleted_draft_attachments_leave_no_files(
    draft, api_client, drafts, settings, django_capture_on_commit_callbacks
):
    from pathlib import Path

    def files():
        return sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())

    content = base64.b64encode(b"bytes").decode()
    body = draft({**BODY, "attachments": [{"name": "a.txt", "content": content}]})
    assert len(files()) == 1
    with django_capture_on_commit_callbacks(execute=True):
        api_client.patch(
            drafts(f"/{body['id']}"),
            {"attachments": [{"name": "b.txt", "content": content}]},
            format="json",
        )
    assert len(files()) == 1
    with django_capture_on_commit_callbacks(execute=True):
        api_client.delete(drafts(f"/{body['id']}"))
    assert files() == []
