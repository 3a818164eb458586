"""The approval queue: list, approve (with edits), reject, cancel; each decision once."""

import pytest

from inboxes.tests.factories import InboxFactory
from messages.models import Message
from sendook.events.models import Event

pytestmark = pytest.mark.django_db

BODY = {"to": ["ada@example.org"], "subject": "Hello", "text": "Hi Ada", "html": "<p>Hi Ada</p>"}


@pytest.fixture
def held(policy, send, url):
    policy(sendPolicy={"approval": "always"})

    def make(**extra):
        body = send(url("/send"), {**BODY, **extra}).json()
        assert body["status"] == "pending_approval"
        return body

    return make


def test_the_queue_lists_the_organizations_held_messages_oldest_first(api_client, held, org, send):
    first, second = held(), held(subject="Second")
    other_inbox = InboxFactory(organization=org, send_approval="always")
    third = send(f"/v1/inboxes/{other_inbox.public_id}/messages/send", BODY).json()
    response = api_client.get("/v1/approvals?limit=2")
    assert response.status_code == 200
    assert [m["id"] for m in response.json()] == [first["id"], second["id"]]
    following = api_client.get(response.headers["Link"].split(";")[0].strip("<>"))
    assert [m["id"] for m in following.json()] == [third["id"]]
    one = api_client.get(f"/v1/approvals/{first['id']}").json()
    assert one["hold"]["reason"] == "always" and one["createdBy"]["type"] == "api_key"


def test_another_organizations_queue_and_decisions_are_out_of_reach(
    held, other_api_client, url, inbox
):
    message = held()
    assert other_api_client.get("/v1/approvals").json() == []
    assert other_api_client.get(f"/v1/approvals/{message['id']}").status_code == 404
    for action in ("approve", "reject", "cancel"):
        response = other_api_client.post(url(f"/{message['id']}/{action}"), {}, format="json")
        assert response.status_code == 404
    assert Message.objects.get(public_id=message["id"]).status == "pending_approval"


def test_approving_with_an_edit_sends_the_edited_text_once_and_keeps_the_original(
    held, send, url, sandbox, agent_key
):
    message = held()
    response = send(url(f"/{message['id']}/approve"), {"text": "Hello Ada, edited"})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and body["text"] == "Hello Ada, edited"
    assert body["review"] == {
        "originalSubject": "Hello",
        "originalText": "Hi Ada",
        "originalHtml": "<p>Hi Ada</p>",
    }
    assert body["approvedBy"] == {"type": "api_key", "id": agent_key.public_id, "name": "test"}
    assert "approvedAt" in body
    captured = sandbox()
    assert len(captured) == 1
    assert "Hello Ada, edited" in captured[0][0].get_body(("plain",)).get_content()
    assert Message.objects.get(public_id=message["id"]).status == "sent"
    assert Event.objects.filter(type="message.approved").count() == 1


def test_approving_twice_sends_once_and_the_second_answer_names_the_status(
    held, send, url, sandbox
):
    message = held()
    assert send(url(f"/{message['id']}/approve"), {}).status_code == 202
    again = send(url(f"/{message['id']}/approve"), {})
    assert again.status_code == 409
    assert again.json()["code"] == "message_not_held"
    assert "sent" in again.json()["error"] and "status" in again.json()["fields"]
    assert len(sandbox()) == 1


def test_approving_a_message_that_was_never_held_is_a_conflict(send, url, sandbox):
    message = send(url("/send"), BODY).json()
    response = send(url(f"/{message['id']}/approve"), {"text": "changed"})
    assert response.status_code == 409 and "sent" in response.json()["error"]
    assert Message.objects.get(public_id=message["id"]).text == "Hi Ada"


@pytest.mark.parametrize(
    "edit, field",
    [
        ({"subject": "Hi\r\nBcc: everyone@example.org"}, "subject"),
        ({"subject": "=?utf-8?q?a=0D=0ABcc:_x@example.org?="}, "subject"),
        ({"subject": 5}, "subject"),
        ({"text": ["a"]}, "text"),
        ({"text": "", "html": ""}, "text"),
    ],
)
def test_an_edit_that_would_not_be_a_valid_send_is_refused_and_nothing_changes(
    held, send, url, sandbox, edit, field
):
    message = held()
    response = send(url(f"/{message['id']}/approve"), edit)
    assert response.status_code == 400 and field in response.json()["fields"]
    stored = Message.objects.get(public_id=message["id"])
    assert (stored.status, stored.subject, stored.text) == ("pending_approval", "Hello", "Hi Ada")
    assert stored.review == {} and stored.approved_by == {}
    assert sandbox() == []


def test_rejecting_declines_with_the_reason_and_sends_nothing(held, send, url, sandbox):
    message = held()
    response = send(url(f"/{message['id']}/reject"), {"reason": "Wrong customer"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "declined" and body["statusReason"] == "Wrong customer"
    assert body["declinedBy"]["type"] == "api_key" and "declinedAt" in body
    assert send(url(f"/{message['id']}/approve"), {}).status_code == 409
    assert sandbox() == []
    assert Event.objects.filter(type="message.declined").count() == 1


def test_a_bad_reject_reason_is_refused(held, send, url):
    message = held()
    response = send(url(f"/{message['id']}/reject"), {"reason": "a\nb"})
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    assert Message.objects.get(public_id=message["id"]).status == "pending_approval"


def test_cancelling_a_held_message_stops_it_and_a_sent_one_cannot_be_cancelled(
    held, send, url, sandbox
):
    message = held()
    response = send(url(f"/{message['id']}/cancel"), {})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert send(url(f"/{message['id']}/approve"), {}).status_code == 409
    direct = send(url("/send"), BODY)  # held too (approval: always)
    send(url(f"/{direct.json()['id']}/approve"), {})
    late = send(url(f"/{direct.json()['id']}/cancel"), {})
    assert late.status_code == 409 and "sent" in late.json()["error"]
    assert len(sandbox()) == 1
    assert Event.objects.filter(type="message.cancelled").count() == 1


def test_release_approves_messages_held_by_the_pause_switch_only(
    api_client, policy, send, url, sandbox
):
    api_client.patch("/v1/organization", {"sendingPaused": True}, format="json")
    paused = send(url("/send"), BODY).json()
    api_client.patch("/v1/organization", {"sendingPaused": False}, format="json")
    policy(sendPolicy={"approval": "always"})
    by_policy = send(url("/send"), BODY).json()
    response = send("/v1/approvals/release", {})
    assert response.status_code == 200 and response.json() == {"released": 1}
    assert Message.objects.get(public_id=paused["id"]).approved_by["type"] == "api_key"
    assert Message.objects.get(public_id=by_policy["id"]).status == "pending_approval"
    assert len(sandbox()) == 1


def test_release_of_another_organizations_inbox_answers_404(send, other_org):
    theirs = InboxFactory(organization=other_org)
    response = send("/v1/approvals/release", {"inboxId": theirs.public_id})
    assert response.status_code == 404


def test_each_decision_is_in_the_event_feed_and_webhooks_can_subscribe_to_it(
    api_client, held, send, url
):
    from webhooks.models import SUBSCRIBABLE_EVENT_TYPES

    kinds = [
        "message.pending_approval",
        "message.approved",
        "message.declined",
        "message.cancelled",
        "message.scheduled",
    ]
    assert set(kinds) <= set(SUBSCRIBABLE_EVENT_TYPES)
    first, second, third = held(), held(), held()
    send(url(f"/{first['id']}/approve"), {})
    send(url(f"/{second['id']}/reject"), {"reason": "no"})
    send(url(f"/{third['id']}/cancel"), {})
    feed = [event["event"] for event in api_client.get("/v1/events").json()]
    assert [kind for kind in feed if kind != "inbox.updated"] == [
        "message.pending_approval",
        "message.pending_approval",
        "message.pending_approval",
        "message.approved",
        "message.sent",
        "message.declined",
        "message.cancelled",
    ]


def test_an_edited_approval_shows_the_edited_text_in_the_thread_preview(
    api_client, held, send, url, inbox
):
    message = held()
    send(url(f"/{message['id']}/approve"), {"text": "What Dana wrote", "html": ""})
    (thread,) = api_client.get(f"/v1/inboxes/{inbox.public_id}/threads").json()
    assert thread["preview"] == "What Dana wrote"
