"""Reply, reply-all, forward and compose from the staff UI go through the API's send path."""

import html
import re

import pytest

from messages.models import Message
from messages.tests.factories import MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def parent(inbox):
    return MessageFactory(
        inbox=inbox,
        thread=ThreadFactory(inbox=inbox, subject="Order 7"),
        subject="Order 7",
        text="Where is my order?",
        cc=["Dana <dana@example.com>"],
    )


@pytest.fixture
def post(staff_client, django_capture_on_commit_callbacks):
    """POST with on-commit callbacks run, so the eager worker sends before this returns."""

    def submit(url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return staff_client.post(url, data)

    return submit


def form_key(staff_client, url, name="idempotency_key"):
    page = staff_client.get(url).content.decode()
    return re.search(rf'name="{name}" value="([^"]+)"', page).group(1)


def test_reply_from_the_thread_sends_with_threading_headers(staff_client, post, parent, sandbox):
    thread_url = f"/threads/{parent.thread.public_id}"
    key = form_key(staff_client, thread_url)

    response = post(
        f"{thread_url}/reply",
        {
            "parent": parent.public_id,
            "idempotency_key": key,
            "mode": "reply",
            "text": "On its way.",
        },
    )
    reply = Message.objects.get(direction="outbound")
    assert response.status_code == 302
    assert response["Location"] == f"{thread_url}#{reply.public_id}"
    assert reply.thread_id == parent.thread_id
    assert reply.in_reply_to == parent.message_id
    assert reply.to == ["Carol Customer <customer@example.com>"] and reply.cc == []
    ((mail, _envelope, _raw),) = sandbox()
    assert mail["In-Reply-To"] == parent.message_id
    assert mail["Subject"] == "Re: Order 7"

    page = staff_client.get(thread_url).content.decode()
    assert "On its way." in page


def test_reply_all_copies_the_other_recipients(staff_client, post, parent):
    thread_url = f"/threads/{parent.thread.public_id}"
    post(
        f"{thread_url}/reply",
        {
            "parent": parent.public_id,
            "idempotency_key": form_key(staff_client, thread_url),
            "mode": "reply-all",
            "text": "Looping Dana in.",
        },
    )
    assert Message.objects.get(direction="outbound").cc == ["Dana <dana@example.com>"]


def test_the_same_form_submitted_twice_sends_once(staff_client, post, parent):
    thread_url = f"/threads/{parent.thread.public_id}"
    data = {
        "parent": parent.public_id,
        "idempotency_key": form_key(staff_client, thread_url),
        "mode": "reply",
        "text": "Once only",
    }
    first = post(f"{thread_url}/reply", data)
    second = post(f"{thread_url}/reply", data)
    assert first["Location"] == second["Location"]
    assert Message.objects.filter(direction="outbound").count() == 1


def test_forward_needs_a_valid_recipient(staff_client, post, parent):
    thread_url = f"/threads/{parent.thread.public_id}"
    key = form_key(staff_client, thread_url, "idempotency_key")
    response = post(
        f"{thread_url}/forward",
        {
            "parent": parent.public_id,
            "idempotency_key": key,
            "to": "not an address",
        },
    )
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not Message.objects.filter(direction="outbound").exists()

    response = post(
        f"{thread_url}/forward",
        {
            "parent": parent.public_id,
            "idempotency_key": key,
            "to": "boss@example.com",
            "text": "FYI",
        },
    )
    forwarded = Message.objects.get(direction="outbound")
    assert response.status_code == 302
    assert forwarded.subject == "Fwd: Order 7" and forwarded.to == ["boss@example.com"]
    assert "Where is my order?" in forwarded.text


def test_compose_starts_a_new_thread(staff_client, post, inbox, sandbox):
    key = form_key(staff_client, f"/compose?inbox={inbox.public_id}")
    response = post(
        "/compose",
        {
            "idempotency_key": key,
            "inbox": inbox.public_id,
            "to": "ann@example.com, bob@example.com",
            "cc": "",
            "subject": "Hello there",
            "text": "First contact",
        },
    )
    message = Message.objects.get(direction="outbound")
    assert response.status_code == 302
    assert response["Location"].startswith(f"/threads/{message.thread.public_id}")
    assert message.to == ["ann@example.com", "bob@example.com"]
    assert message.from_email == inbox.email
    assert len(sandbox()) == 1


def test_compose_from_another_organizations_inbox_is_404(staff_client, post, other_inbox):
    response = post(
        "/compose",
        {
            "idempotency_key": "k" * 20,
            "inbox": other_inbox.public_id,
            "to": "a@example.com",
            "subject": "x",
            "text": "y",
        },
    )
    assert response.status_code == 404
    assert not Message.objects.filter(direction="outbound").exists()


def test_replying_in_another_organizations_thread_is_404(staff_client, post, other_inbox):
    theirs = MessageFactory(inbox=other_inbox, thread=ThreadFactory(inbox=other_inbox))
    response = post(
        f"/threads/{theirs.thread.public_id}/reply",
        {
            "parent": theirs.public_id,
            "idempotency_key": "k" * 20,
            "mode": "reply",
            "text": "hi",
        },
    )
    assert response.status_code == 404


def test_the_organizations_send_budget_applies_to_the_ui(staff_client, post, parent, org):
    org.send_rate_limit = "1/h"
    org.save()
    thread_url = f"/threads/{parent.thread.public_id}"
    for expected in (302, 429):
        response = post(
            f"{thread_url}/reply",
            {
                "parent": parent.public_id,
                "idempotency_key": form_key(staff_client, thread_url),
                "mode": "reply",
                "text": "again",
            },
        )
        assert response.status_code == expected
    assert "sending budget" in response.content.decode()
    assert Message.objects.filter(direction="outbound").count() == 1


def test_a_bad_address_is_named_with_its_field_and_value(staff_client, post, parent):
    thread_url = f"/threads/{parent.thread.public_id}"
    response = post(
        f"{thread_url}/forward",
        {
            "parent": parent.public_id,
            "idempotency_key": form_key(staff_client, thread_url),
            "to": "boss@example.com, not-an-email",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "to: not-an-email is not a valid address." in page
    assert "ErrorDetail" not in page and "{0:" not in page and "{1:" not in page
    assert 'value="boss@example.com, not-an-email"' in page  # what was typed stays


def test_compose_names_every_bad_box(staff_client, post, inbox):
    response = post(
        "/compose",
        {
            "idempotency_key": form_key(staff_client, f"/compose?inbox={inbox.public_id}"),
            "inbox": inbox.public_id,
            "to": "ann@example",
            "cc": "bob@example.com; carol at example.com",
            "subject": "Hello",
            "text": "Hi",
        },
    )
    page = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert "to: ann@example is not a valid address." in page
    assert "cc: carol at example.com is not a valid address." in page
    assert "ErrorDetail" not in page
    assert not Message.objects.filter(direction="outbound").exists()


def test_a_comma_inside_a_quoted_display_name_does_not_split_the_address(staff_client, post, inbox):
    response = post(
        "/compose",
        {
            "idempotency_key": form_key(staff_client, f"/compose?inbox={inbox.public_id}"),
            "inbox": inbox.public_id,
            "to": '"Lovelace, Ada" <ada@example.com>; bob@example.com',
            "subject": "Hello",
            "text": "Hi",
        },
    )
    assert response.status_code == 302
    (message,) = Message.objects.filter(direction="outbound")
    assert len(message.to) == 2
    assert "Lovelace, Ada" in message.to[0] and "<ada@example.com>" in message.to[0]
    assert message.to[1] == "bob@example.com"


def test_the_reply_label_names_whom_the_reply_goes_to(staff_client, post, inbox):
    sent = MessageFactory(
        inbox=inbox,
        thread=ThreadFactory(inbox=inbox, subject="Quote"),
        direction="outbound",
        status="sent",
        from_email=inbox.email,
        from_name="Support",
        to=["Ann Buyer <ann@example.com>"],
        subject="Quote",
    )
    thread_url = f"/threads/{sent.thread.public_id}"
    page = staff_client.get(thread_url).content.decode()
    assert "Reply to Ann Buyer</h2>" in page
    post(
        f"{thread_url}/reply",
        {
            "parent": sent.public_id,
            "idempotency_key": form_key(staff_client, thread_url),
            "mode": "reply",
            "text": "Following up.",
        },
    )
    reply = Message.objects.filter(direction="outbound").latest("id")
    assert reply.to == ["Ann Buyer <ann@example.com>"]


def test_the_reply_label_names_the_reply_to_address_of_received_mail(staff_client, inbox):
    received = MessageFactory(
        inbox=inbox,
        thread=ThreadFactory(inbox=inbox),
        from_name="Noreply Bot",
        reply_to=["Help Desk <help@example.com>"],
    )
    page = staff_client.get(f"/threads/{received.thread.public_id}").content.decode()
    assert "Reply to Help Desk</h2>" in page


def test_a_reply_typed_in_an_expired_session_survives_the_login(
    client, staff_user, post, parent, sandbox
):
    client.force_login(staff_user)
    thread_url = f"/threads/{parent.thread.public_id}"
    key = form_key(client, thread_url)
    client.logout()  # the session expired while the reply was being typed

    response = client.post(
        f"{thread_url}/reply",
        {"parent": parent.public_id, "idempotency_key": key, "mode": "reply", "text": "Typed <b>"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/login?next={thread_url}"
    assert not Message.objects.filter(direction="outbound").exists()

    staff_user.set_password("correct horse battery")
    staff_user.save()
    response = client.post(
        "/login",
        {"username": staff_user.email, "password": "correct horse battery", "next": thread_url},
    )
    assert response["Location"] == thread_url
    page = client.get(thread_url).content.decode()
    assert re.search(r'<textarea name="text" id="reply-body"[^>]*>Typed &lt;b&gt;</textarea>', page)
    assert "You were signed out before this reply was sent" in page
    # Shown once: a later visit has the empty form again.
    assert "Typed &lt;b&gt;" not in client.get(thread_url).content.decode()
    assert not sandbox()


def test_a_get_on_a_form_action_goes_back_to_the_thread(staff_client, client, parent):
    thread_url = f"/threads/{parent.thread.public_id}"
    for action in ("reply", "forward", "read", "labels"):
        response = staff_client.get(f"{thread_url}/{action}")
        assert response.status_code == 302, action
        assert response["Location"] == thread_url
    assert staff_client.get("/organization")["Location"] == "/"
    client.logout()
    assert client.get(f"{thread_url}/reply")["Location"] == thread_url


def test_a_compose_typed_in_an_expired_session_survives_the_login(client, staff_user, inbox):
    client.force_login(staff_user)
    key = form_key(client, "/compose")
    client.logout()
    data = {
        "idempotency_key": key,
        "inbox": inbox.public_id,
        "to": "ann@example.com",
        "cc": "",
        "subject": "Kept subject",
        "text": "Kept body",
    }
    response = client.post("/compose", data)
    assert response["Location"] == "/login?next=/compose"
    client.force_login(staff_user)
    page = client.get("/compose").content.decode()
    assert 'value="Kept subject"' in page and "Kept body</textarea>" in page
    assert 'value="ann@example.com"' in page


def test_a_form_submitted_again_after_the_idempotency_ttl_sends_again(
    staff_client, post, parent, settings
):
    # Replays are promised for SENDOOK_IDEMPOTENCY_TTL_HOURS, in the UI as in the API: a form
    # left open past it and submitted again is a new send, not the old message.
    from datetime import timedelta

    from django.utils import timezone

    from inboxes.models import IdempotencyRecord

    thread_url = f"/threads/{parent.thread.public_id}"
    data = {
        "parent": parent.public_id,
        "idempotency_key": form_key(staff_client, thread_url),
        "mode": "reply",
        "text": "Sent twice, a day apart",
    }
    first = post(f"{thread_url}/reply", data)
    expired = timezone.now() - timedelta(hours=settings.SENDOOK_IDEMPOTENCY_TTL_HOURS, minutes=1)
    IdempotencyRecord.objects.update(created_at=expired)
    second = post(f"{thread_url}/reply", data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] != second["Location"]
    assert Message.objects.filter(direction="outbound").count() == 2
