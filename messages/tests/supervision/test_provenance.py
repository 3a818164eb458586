"""Every path that creates a message records who did, and the thread view says it."""

import re

import pytest

from inboxes.tests.factories import InboxFactory
from messages.models import InboundEmail, Message
from messages.services.receive import process_inbound_email, receive_raw_email
from messages.services.send import send_message
from messages.tests.inbound.mail import build_email
from messages.tests.mail_factories import MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db

BODY = {"to": ["ada@example.org"], "subject": "Hello", "text": "Hi Ada"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_an_api_send_reply_and_forward_are_created_by_the_requests_key(send, url, inbox, agent_key):
    parent = MessageFactory(thread=ThreadFactory(inbox=inbox), direction="inbound")
    expected = {"type": "api_key", "id": agent_key.public_id, "name": "test"}
    answers = [
        send(url("/send"), BODY),
        send(url(f"/{parent.public_id}/reply"), {"text": "r"}),
        send(url(f"/{parent.public_id}/reply-all"), {"text": "r"}),
        send(url(f"/{parent.public_id}/forward"), {"to": ["x@example.org"]}),
    ]
    assert [answer.json()["createdBy"] for answer in answers] == [expected] * 4


def test_the_message_list_shows_provenance_from_its_own_columns(api_client, send, url):
    send(url("/send"), BODY)
    (row,) = api_client.get(url()).json()
    assert row["createdBy"]["type"] == "api_key"


def test_received_mail_is_created_by_the_record_it_arrived_in(inbox):
    record = receive_raw_email(build_email(), recipients=[inbox.email], source="smtp")
    (message,) = process_inbound_email(record)
    assert message.created_by == {"type": "inbound", "id": record.public_id, "name": "smtp"}


def test_a_local_delivery_is_created_by_its_local_inbound_record(
    send, url, org, inbox, django_capture_on_commit_callbacks
):
    colleague = InboxFactory(organization=org, email="desk@sendook.localhost")
    send(url("/send"), {**BODY, "to": [colleague.email]})
    copy = Message.objects.get(inbox=colleague)
    record = InboundEmail.objects.get(source="local")
    assert copy.created_by == {"type": "inbound", "id": record.public_id, "name": "local"}


def test_a_send_from_code_without_an_actor_is_created_by_the_system(inbox):
    message = send_message(inbox, to=["a@example.org"], subject="s", text="t")
    assert message.created_by == {"type": "system", "id": "sendook", "name": "Sendook"}


def test_messages_stored_before_provenance_omit_it(api_client, inbox, url):
    message = MessageFactory(thread=ThreadFactory(inbox=inbox), created_by={})
    body = api_client.get(url(f"/{message.public_id}")).json()
    assert "createdBy" not in body and "approvedBy" not in body and "hold" not in body


def test_a_staff_compose_is_created_by_the_signed_in_user(
    staff_client, staff_user, inbox, django_capture_on_commit_callbacks
):
    staff_user.first_name, staff_user.last_name = "Dana", "Reyes"
    staff_user.save()
    page = staff_client.get(f"/compose?inbox={inbox.public_id}").content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            "/compose",
            {
                "inbox": inbox.public_id,
                "idempotency_key": key,
                "to": "ada@example.org",
                "subject": "Hi",
                "text": "Hello",
            },
        )
    message = Message.objects.get(direction="outbound")
    assert message.created_by == {"type": "user", "id": str(staff_user.pk), "name": "Dana Reyes"}


def test_the_thread_view_says_which_agent_wrote_it_and_who_approved(
    staff_client, staff_user, policy, send, url, agent_key
):
    agent_key.name = "Support bot"
    agent_key.save()
    policy(sendPolicy={"approval": "always"})
    held = send(url("/send"), BODY).json()
    message = Message.objects.get(public_id=held["id"])
    page = staff_client.get(f"/threads/{message.thread.public_id}").content.decode()
    assert "sent by agent key Support bot, waiting for approval: this inbox approves" in page
    staff_user.first_name = "Dana"
    staff_user.save()
    from messages.services import approvals
    from messages.services.provenance import user_actor

    approvals.approve_message(message, by=user_actor(staff_user))
    page = staff_client.get(f"/threads/{message.thread.public_id}").content.decode()
    assert "sent by agent key Support bot, approved by Dana" in page
