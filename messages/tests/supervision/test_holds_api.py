"""Send policies and pause switches hold sends at accept time; nothing held reaches the
provider."""

import pytest

from inboxes.tests.factories import InboxFactory
from messages.models import Message
from messages.tests.mail_factories import MessageFactory, ThreadFactory
from sendook.events.models import Event

pytestmark = pytest.mark.django_db

BODY = {"to": ["ada@example.org"], "subject": "Hello", "text": "Hi Ada"}


def test_an_inbox_without_a_send_policy_sends_at_once(inbox, send, url, sandbox):
    response = send(url("/send"), BODY)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and "hold" not in body and "sendAt" not in body
    assert len(sandbox()) == 1


def test_the_inbox_shows_its_send_policy_and_pause_switch(api_client, inbox):
    body = api_client.get(f"/v1/inboxes/{inbox.public_id}").json()
    assert body["sendPolicy"] == {"approval": "never", "holdSeconds": 0}
    assert body["sendingPaused"] is False


def test_first_contact_holds_a_send_to_a_new_address_and_names_it(policy, send, url, sandbox):
    policy(sendPolicy={"approval": "first_contact"})
    response = send(url("/send"), {**BODY, "cc": ["Bob <bob@example.org>"]})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending_approval"
    assert body["hold"] == {
        "reason": "first_contact",
        "recipients": ["ada@example.org", "bob@example.org"],
    }
    assert sandbox() == []
    assert Event.objects.filter(type="message.pending_approval").count() == 1


def test_first_contact_lets_a_reply_to_someone_who_wrote_to_the_inbox_go(
    policy, send, url, inbox, sandbox
):
    parent = MessageFactory(
        thread=ThreadFactory(inbox=inbox),
        direction="inbound",
        status="received",
        from_email="Ada@Example.org",
        to=[inbox.email],
    )
    policy(sendPolicy={"approval": "first_contact"})
    response = send(url(f"/{parent.public_id}/reply"), {"text": "Thanks"})
    assert response.json()["status"] == "queued"
    assert len(sandbox()) == 1


def test_first_contact_lets_the_second_send_to_an_approved_address_go(policy, send, url, sandbox):
    policy(sendPolicy={"approval": "first_contact"})
    held = send(url("/send"), BODY).json()
    assert send(url(f"/{held['id']}/approve"), {}).status_code == 202
    assert len(sandbox()) == 1
    assert send(url("/send"), BODY).json()["status"] == "queued"
    assert len(sandbox()) == 2


def test_first_contact_holds_only_the_new_recipient_of_a_mixed_send(policy, send, url):
    policy(sendPolicy={"approval": "first_contact"})
    send(url("/send"), {**BODY, "to": ["old@example.org"]})  # held, then approved
    first = Message.objects.get()
    send(url(f"/{first.public_id}/approve"), {})
    body = send(url("/send"), {**BODY, "to": ["old@example.org", "new@example.org"]}).json()
    assert body["hold"] == {"reason": "first_contact", "recipients": ["new@example.org"]}


def test_external_holds_a_send_outside_the_organization_but_not_to_its_inboxes(
    policy, send, url, org, other_org, sandbox
):
    colleague = InboxFactory(organization=org, email="desk@sendook.localhost")
    stranger = InboxFactory(organization=other_org, email="theirs@sendook.localhost")
    policy(sendPolicy={"approval": "external"})
    inside = send(url("/send"), {**BODY, "to": [colleague.email]}).json()
    assert inside["status"] == "queued"
    outside = send(url("/send"), {**BODY, "to": [colleague.email, stranger.email]}).json()
    assert outside["status"] == "pending_approval"
    assert outside["hold"] == {"reason": "external", "recipients": [stranger.email]}


def test_always_holds_every_send_type(policy, send, url, inbox, sandbox):
    parent = MessageFactory(thread=ThreadFactory(inbox=inbox), direction="inbound")
    policy(sendPolicy={"approval": "always"})
    answers = [
        send(url("/send"), BODY),
        send(url(f"/{parent.public_id}/reply"), {"text": "r"}),
        send(url(f"/{parent.public_id}/reply-all"), {"text": "r"}),
        send(url(f"/{parent.public_id}/forward"), {"to": ["x@example.org"]}),
    ]
    assert [a.status_code for a in answers] == [202] * 4
    assert {a.json()["hold"]["reason"] for a in answers} == {"always"}
    assert sandbox() == []


def test_a_key_that_requires_approval_has_every_send_held_and_cannot_approve(
    send, url, agent_key, sandbox
):
    agent_key.require_approval = True
    agent_key.save(update_fields=["require_approval"])
    body = send(url("/send"), BODY).json()
    assert body["hold"] == {"reason": "key_requires_approval", "recipients": ["ada@example.org"]}
    response = send(url(f"/{body['id']}/approve"), {})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert Message.objects.get().status == "pending_approval"
    assert sandbox() == []


def test_a_paused_inbox_holds_sends_and_resuming_releases_nothing(policy, send, url, sandbox):
    assert policy(sendingPaused=True)["sendingPaused"] is True
    held = send(url("/send"), BODY).json()
    assert held["hold"]["reason"] == "inbox_paused"
    policy(sendingPaused=False)
    assert Message.objects.get(public_id=held["id"]).status == "pending_approval"
    assert sandbox() == []


def test_the_organization_switch_holds_every_inbox(api_client, send, url, org, sandbox):
    response = api_client.patch("/v1/organization", {"sendingPaused": True}, format="json")
    assert response.status_code == 200 and response.json()["sendingPaused"] is True
    assert api_client.get("/v1/organization").json()["sendingPaused"] is True
    other = InboxFactory(organization=org)
    body = send(f"/v1/inboxes/{other.public_id}/messages/send", BODY).json()
    assert body["hold"]["reason"] == "organization_paused"
    assert send(url("/send"), BODY).json()["hold"]["reason"] == "organization_paused"
    assert sandbox() == []
    assert Event.objects.filter(type="sending.paused").count() == 1


def test_a_held_send_is_replayed_by_its_idempotency_key_without_a_second_message(policy, send, url):
    policy(sendPolicy={"approval": "always"})
    first = send(url("/send"), BODY, HTTP_IDEMPOTENCY_KEY="k-1")
    again = send(url("/send"), BODY, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.json() == again.json()
    assert Message.objects.count() == 1


def test_held_sends_spend_the_send_budget_when_accepted_not_when_approved(policy, send, url, org):
    org.send_rate_limit = "2/h"
    org.save()
    policy(sendPolicy={"approval": "always"})
    first = send(url("/send"), BODY).json()
    second = send(url("/send"), BODY).json()
    assert send(url("/send"), BODY).status_code == 429
    # Approving is not a send: both still go although the budget is spent.
    assert send(url(f"/{first['id']}/approve"), {}).status_code == 202
    assert send(url(f"/{second['id']}/approve"), {}).status_code == 202


@pytest.mark.parametrize(
    "body, field",
    [
        ({"sendPolicy": {"approval": "sometimes"}}, "sendPolicy.approval"),
        ({"sendPolicy": {"holdSeconds": -1}}, "sendPolicy.holdSeconds"),
        ({"sendPolicy": {"holdSeconds": 86401}}, "sendPolicy.holdSeconds"),
        ({"sendPolicy": {"holdSeconds": "10"}}, "sendPolicy.holdSeconds"),
        ({"sendPolicy": {"holdSeconds": True}}, "sendPolicy.holdSeconds"),
        ({"sendPolicy": {"approval": "always", "holdSeconds": 1.5}}, "sendPolicy.holdSeconds"),
        ({"sendPolicy": "always"}, "sendPolicy"),
        ({"sendingPaused": "yes"}, "sendingPaused"),
        ({"sendingPaused": 1}, "sendingPaused"),
    ],
)
def test_a_bad_send_policy_is_refused_naming_the_field_and_nothing_changes(
    api_client, inbox, body, field
):
    response = api_client.patch(f"/v1/inboxes/{inbox.public_id}", body, format="json")
    assert response.status_code == 400
    assert any(name.startswith(field) for name in response.json()["fields"]), response.json()
    inbox.refresh_from_db()
    assert (inbox.send_approval, inbox.hold_seconds, inbox.sending_paused) == ("never", 0, False)


@pytest.mark.parametrize("body", [{}, {"sendingPaused": "true"}, {"sendingPaused": None}])
def test_a_bad_organization_switch_is_refused_naming_the_field(api_client, org, body):
    response = api_client.patch("/v1/organization", body, format="json")
    assert response.status_code == 400 and "sendingPaused" in response.json()["fields"]
    org.refresh_from_db()
    assert org.sending_paused is False


def test_another_organizations_inbox_policy_answers_404(api_client, other_org):
    theirs = InboxFactory(organization=other_org)
    response = api_client.patch(
        f"/v1/inboxes/{theirs.public_id}", {"sendPolicy": {"approval": "always"}}, format="json"
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.send_approval == "never"


def test_pausing_one_organization_leaves_the_other_sending(
    api_client, other_api_client, other_org, send, sandbox
):
    api_client.patch("/v1/organization", {"sendingPaused": True}, format="json")
    theirs = InboxFactory(organization=other_org)
    body = send(f"/v1/inboxes/{theirs.public_id}/messages/send", BODY, client=other_api_client)
    assert body.json()["status"] == "queued"
    assert other_api_client.get("/v1/organization").json()["sendingPaused"] is False


def test_a_send_task_run_for_a_held_message_sends_nothing(policy, send, url, sandbox):
    # No task is enqueued for a held send; one arriving anyway (a stale duplicate) is refused.
    from messages import tasks

    policy(sendPolicy={"approval": "always"})
    held = send(url("/send"), BODY).json()
    tasks.send_message.apply(args=[Message.objects.get(public_id=held["id"]).pk])
    assert sandbox() == []
    assert Message.objects.get(public_id=held["id"]).status == "pending_approval"
