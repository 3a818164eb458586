"""Who may supervise: deciding on held mail, loosening an inbox's policy or pausing the
organization needs approvals:write, and a key limited to some inboxes sees and releases only
theirs."""

import pytest
from rest_framework.test import APIClient

from inboxes.services import create_api_key
from inboxes.tests.factories import InboxFactory
from messages.models import Message

pytestmark = pytest.mark.django_db

BODY = {"to": ["ada@example.org"], "subject": "Hello", "text": "Hi Ada"}
AGENT = ["messages:read", "messages:send", "inboxes:read", "inboxes:write"]


def _client(org, **powers) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_api_key(org, **powers).secret}")
    return client


@pytest.fixture
def watched(org):
    return InboxFactory(organization=org, send_approval="always")


def _held(client, inbox) -> dict:
    response = client.post(f"/v1/inboxes/{inbox.public_id}/messages/send", BODY, format="json")
    assert response.status_code == 202 and response.json()["status"] == "pending_approval"
    return response.json()


def test_an_agent_without_approvals_write_cannot_approve_or_reject_its_own_held_send(org, watched):
    agent = _client(org, name="agent", scopes=AGENT)
    message = _held(agent, watched)
    base = f"/v1/inboxes/{watched.public_id}/messages/{message['id']}"
    for action in ("approve", "reject"):
        response = agent.post(f"{base}/{action}", {"reason": "fine"}, format="json")
        assert response.status_code == 403
        assert response.json()["error"] == "This API key needs scope approvals:write"
    assert Message.objects.get(public_id=message["id"]).status == "pending_approval"
    # Taking back its own send is part of sending.
    assert agent.post(f"{base}/cancel", {}, format="json").json()["status"] == "cancelled"


def test_a_supervisor_key_with_approvals_write_approves(org, watched):
    message = _held(_client(org, name="agent", scopes=AGENT), watched)
    supervisor = _client(org, name="lead", scopes=["approvals:write", "messages:read"])
    response = supervisor.post(
        f"/v1/inboxes/{watched.public_id}/messages/{message['id']}/approve", {}, format="json"
    )
    assert response.status_code == 202 and response.json()["status"] == "queued"


def test_an_agent_can_rename_its_inbox_but_not_loosen_its_policy_or_unpause_it(org, watched):
    agent = _client(org, name="agent", scopes=AGENT)
    url = f"/v1/inboxes/{watched.public_id}"
    assert agent.patch(url, {"name": "Desk"}, format="json").status_code == 200
    for change in ({"sendPolicy": {"approval": "never"}}, {"sendingPaused": False}):
        response = agent.patch(url, change, format="json")
        assert response.status_code == 403, change
        assert response.json()["error"] == "This API key needs scope approvals:write"
    watched.refresh_from_db()
    assert watched.send_approval == "always" and watched.name == "Desk"


def test_the_organization_pause_switch_needs_approvals_write_and_an_unlimited_key(org, watched):
    agent = _client(org, name="agent", scopes=AGENT)
    assert agent.get("/v1/organization").status_code == 200
    refused = agent.patch("/v1/organization", {"sendingPaused": True}, format="json")
    assert refused.status_code == 403
    limited = _client(
        org, name="limited lead", scopes=["approvals:write"], inbox_ids=[watched.public_id]
    )
    refused = limited.patch("/v1/organization", {"sendingPaused": True}, format="json")
    assert refused.status_code == 403 and "limited to some inboxes" in refused.json()["error"]
    org.refresh_from_db()
    assert org.sending_paused is False


def test_a_limited_key_sees_and_releases_only_its_inboxes_held_mail(org, watched):
    other = InboxFactory(organization=org, send_approval="always")
    full = _client(org, name="full")
    mine, theirs = _held(full, watched), _held(full, other)
    limited = _client(
        org,
        name="limited",
        scopes=["messages:read", "approvals:write"],
        inbox_ids=[watched.public_id],
    )
    assert [m["id"] for m in limited.get("/v1/approvals").json()] == [mine["id"]]
    assert limited.get(f"/v1/approvals/{theirs['id']}").status_code == 404
    everywhere = limited.post("/v1/approvals/release", {}, format="json")
    assert everywhere.status_code == 403
    outside = limited.post("/v1/approvals/release", {"inboxId": other.public_id}, format="json")
    assert outside.status_code == 404
    assert Message.objects.get(public_id=theirs["id"]).status == "pending_approval"
