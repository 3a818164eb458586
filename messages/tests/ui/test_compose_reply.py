"""The reply and compose forms as a person uses them: addresses to edit, files to attach, the
quoted original, the collision prompt when a message arrives while writing, the autosaved draft,
and a session that expires mid-reply."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messages.models import Message
from messages.services.receive import receive_raw_email
from messages.tests.factories import MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def parent(inbox):
    return MessageFactory(
        inbox=inbox,
        thread=ThreadFactory(inbox=inbox, subject="Order 7"),
        subject="Order 7",
        text="Where is my order?\nIt was due Monday.",
        to=[inbox.email, "Erin <erin@example.com>"],
        cc=["Dana <dana@example.com>"],
    )


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    def submit(client, url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return submit


def hidden(page, name):
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    return match.group(1) if match else None


def arrive(inbox, parent, text, django_capture_on_commit_callbacks):
    """A real reply from the customer, as raw MIME through the inbound path."""
    raw = (
        f"From: Carol Customer <customer@example.com>\r\nTo: {inbox.email}\r\n"
        f"Subject: Re: Order 7\r\nMessage-ID: <late-{len(text)}@example.com>\r\n"
        f"In-Reply-To: {parent.message_id}\r\nReferences: {parent.message_id}\r\n"
        "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    ).encode()
    with django_capture_on_commit_callbacks(execute=True):
        receive_raw_email(raw, recipients=[inbox.email], source="local")
    late = Message.objects.filter(direction="inbound").latest("id")
    assert late.thread_id == parent.thread_id, "the test's mail must thread"
    return late


def test_the_reply_form_has_editable_addresses_files_the_quote_and_the_last_message_id(
    staff_client, parent, settings
):
    settings.SENDOOK_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
    page = staff_client.get(f"/threads/{parent.thread.public_id}").content.decode()
    assert re.search(r'<label for="reply-to">To</label>\s*<input type="text" name="to"', page)
    assert 'value="Carol Customer &lt;customer@example.com&gt;"' in page
    assert (
        '<label for="reply-cc">Cc</label>' in page and '<label for="reply-bcc">Bcc</label>' in page
    )
    assert '<label for="reply-body">Message</label>' in page
    assert re.search(r'<input type="file" name="attachments" id="reply-files" multiple', page)
    assert "at most 10.0\xa0MB each" in page
    # Reply all's extra recipients are named before the person chooses it.
    assert "Reply all also sends to Erin &lt;erin@example.com&gt;, Dana" in page
    assert "&gt; Where is my order?" in page and "Carol Customer wrote:" in page
    parent.thread.refresh_from_db()
    assert hidden(page, "expected_last_message_id") == parent.thread.last_message_public_id
    assert parent.thread.last_message_public_id == parent.public_id


def test_a_reply_goes_to_the_edited_to_cc_and_bcc_with_two_files(
    staff_client, post, parent, sandbox
):
    url = f"/threads/{parent.thread.public_id}"
    page = staff_client.get(url).content.decode()
    response = post(
        staff_client,
        f"{url}/reply",
        {
            "parent": parent.public_id,
            "idempotency_key": hidden(page, "idempotency_key"),
            "expected_last_message_id": hidden(page, "expected_last_message_id"),
            "mode": "reply",
            "to": "Billing <billing@example.com>",
            "cc": "ops@example.com",
            "bcc": "audit@example.com",
            "text": "Forwarding to billing.",
            "attachments": [
                SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 tiny", "application/pdf"),
                SimpleUploadedFile("notes.txt", b"two files", "text/plain"),
            ],
        },
    )
    assert response.status_code == 302
    reply = Message.objects.get(direction="outbound")
    assert reply.to == ["Billing <billing@example.com>"]
    assert reply.cc == ["ops@example.com"] and reply.bcc == ["audit@example.com"]
    assert sorted(a.filename for a in reply.attachments.all()) == ["invoice.pdf", "notes.txt"]
    assert reply.in_reply_to == parent.message_id
    mime, envelope, _raw = sandbox()[0]
    assert "audit@example.com" in envelope["recipients"] and "Bcc" not in mime
    assert [part.get_filename() for part in mime.iter_attachments()] == ["invoice.pdf", "notes.txt"]


def test_reply_all_adds_the_originals_other_recipients_to_the_prefilled_to(
    staff_client, post, parent
):
    url = f"/threads/{parent.thread.public_id}"
    page = staff_client.get(url).content.decode()
    post(
        staff_client,
        f"{url}/reply",
        {
            "parent": parent.public_id,
            "idempotency_key": hidden(page, "idempotency_key"),
            "mode": "reply-all",
            "to": "Carol Customer <customer@example.com>",
            "cc": "",
            "bcc": "",
            "text": "To all of you.",
        },
    )
    reply = Message.objects.get(direction="outbound")
    assert [a.split("<")[-1].rstrip(">") for a in reply.to] == [
        "customer@example.com",
        "erin@example.com",
    ]
    assert reply.cc == ["Dana <dana@example.com>"]


def test_the_quoted_original_is_sent_only_when_asked(staff_client, post, parent):
    url = f"/threads/{parent.thread.public_id}"
    page = staff_client.get(url).content.decode()
    data = {
        "parent": parent.public_id,
        "idempotency_key": hidden(page, "idempotency_key"),
        "mode": "reply",
        "to": "customer@example.com",
        "text": "Shipped.",
        "quote": "1",
    }
    post(staff_client, f"{url}/reply", data)
    text = Message.objects.get(direction="outbound").text
    assert text.startswith("Shipped.\n\nOn ")
    assert "Carol Customer wrote:\n> Where is my order?\n> It was due Monday." in text


def test_a_file_over_the_limit_is_named_and_nothing_is_sent(staff_client, post, parent, settings):
    settings.SENDOOK_MAX_ATTACHMENT_BYTES = 1000
    url = f"/threads/{parent.thread.public_id}"
    page = staff_client.get(url).content.decode()
    response = post(
        staff_client,
        f"{url}/reply",
        {
            "parent": parent.public_id,
            "idempotency_key": hidden(page, "idempotency_key"),
            "mode": "reply",
            "to": "customer@example.com",
            "text": "See attached.",
            "attachments": [SimpleUploadedFile("scan.png", b"x" * 5000, "image/png")],
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Attachments: scan.png is 4.9 KB; the limit is 1000 bytes a file." in body
    assert "Attach again: scan.png" in body
    assert re.search(r'id="reply-body"[^>]*>See attached.</textarea>', body)
    assert not Message.objects.filter(direction="outbound").exists()


def test_too_many_files_together_are_refused_naming_the_limit(staff_client, post, inbox, settings):
    settings.SENDOOK_MAX_MESSAGE_BYTES = 3000
    page = staff_client.get("/compose").content.decode()
    response = post(
        staff_client,
        "/compose",
        {
            "idempotency_key": hidden(page, "idempotency_key"),
            "inbox": inbox.public_id,
            "to": "ann@example.com",
            "subject": "Files",
            "text": "Two halves.",
            "attachments": [
                SimpleUploadedFile("a.bin", b"a" * 2000),
                SimpleUploadedFile("b.bin", b"b" * 2000),
            ],
        },
    )
    assert response.status_code == 400
    assert "with b.bin the files come to 3.9 KB; a message may be at most 2.9 KB" in (
        response.content.decode()
    )
    assert not Message.objects.filter(direction="outbound").exists()


def test_compose_sends_cc_bcc_and_files(staff_client, post, inbox, sandbox):
    page = staff_client.get("/compose").content.decode()
    assert '<label for="compose-bcc">Bcc</label>' in page
    assert '<label for="compose-files">Attachments</label>' in page
    response = post(
        staff_client,
        "/compose",
        {
            "idempotency_key": hidden(page, "idempotency_key"),
            "inbox": inbox.public_id,
            "to": "ann@example.com",
            "cc": "bob@example.com",
            "bcc": "carl@example.com",
            "subject": "Quote",
            "text": "Attached.",
            "attachments": [SimpleUploadedFile("quote.pdf", b"%PDF-1.4 q", "application/pdf")],
        },
    )
    assert response.status_code == 302
    message = Message.objects.get(direction="outbound")
    assert (message.to, message.cc, message.bcc) == (
        ["ann@example.com"],
        ["bob@example.com"],
        ["carl@example.com"],
    )
    assert [a.filename for a in message.attachments.all()] == ["quote.pdf"]
    assert message.attachments.get().content_type == "application/pdf"


# --- collision safety -------------------------------------------------------------------------


def test_a_reply_crossing_a_new_message_is_held_until_the_person_chooses(
    staff_client, post, parent, inbox, sandbox, django_capture_on_commit_callbacks
):
    url = f"/threads/{parent.thread.public_id}"
    page = staff_client.get(url).content.decode()
    shown_last = hidden(page, "expected_last_message_id")
    late = arrive(inbox, parent, "Actually, cancel the order.", django_capture_on_commit_callbacks)

    data = {
        "parent": parent.public_id,
        "idempotency_key": hidden(page, "idempotency_key"),
        "expected_last_message_id": shown_last,
        "mode": "reply",
        "to": "Carol Customer <customer@example.com>",
        "cc": "ops@example.com",
        "text": "It ships tomorrow.",
    }
    response = post(staff_client, f"{url}/reply", data)
    assert response.status_code == 409
    body = response.content.decode()
    box = re.search(r'<div role="alert" class="collision".*?</div>\s*</div>', body, re.S).group(0)
    assert "A new message arrived while you were writing" in box
    assert "Actually, cancel the order." in box
    assert ">Send anyway</button>" in box and 'role="button"' in box and ">Revise</a>" in box
    # The text and addresses as typed; nothing sent.
    assert re.search(r'id="reply-body"[^>]*>It ships tomorrow.</textarea>', body)
    assert 'value="ops@example.com"' in body
    assert not Message.objects.filter(direction="outbound").exists() and not sandbox()
    # "Send anyway" submits the same form, now expecting the message just seen.
    assert hidden(body, "expected_last_message_id") == late.public_id
    assert hidden(body, "idempotency_key") == data["idempotency_key"]

    again = {**data, "expected_last_message_id": late.public_id}
    response = post(staff_client, f"{url}/reply", again)
    assert response.status_code == 302
    reply = Message.objects.get(direction="outbound")
    assert reply.text == "It ships tomorrow." and reply.cc == ["ops@example.com"]
    # A double click on "Send anyway" sends once.
    post(staff_client, f"{url}/reply", again)
    assert Message.objects.filter(direction="outbound").count() == 1


def test_a_forward_crossing_a_new_message_is_held_too(
    staff_client, post, parent, inbox, django_capture_on_commit_callbacks
):
    url = f"/threads/{parent.thread.public_id}"
    page = staff_client.get(url).content.decode()
    shown_last = hidden(page, "expected_last_message_id")
    arrive(inbox, parent, "One more thing.", django_capture_on_commit_callbacks)
    keys = re.findall(r'name="idempotency_key" value="([^"]+)"', page)
    response = post(
        staff_client,
        f"{url}/forward",
        {
            "parent": parent.public_id,
            "idempotency_key": keys[1],
            "expected_last_message_id": shown_last,
            "to": "boss@example.com",
            "text": "FYI",
        },
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert 'id="forward-collision"' in body and "One more thing." in body
    assert re.search(r'<details class="forward" open>', body)
    assert not Message.objects.filter(direction="outbound").exists()


# --- session expiry ---------------------------------------------------------------------------


def test_an_expired_session_keeps_the_whole_reply_and_the_collision_check_across_the_login(
    client, staff_user, post, parent, inbox, django_capture_on_commit_callbacks
):
    staff_user.set_password(PASSWORD)
    staff_user.save()
    client.force_login(staff_user)
    url = f"/threads/{parent.thread.public_id}"
    page = client.get(url).content.decode()
    shown_last = hidden(page, "expected_last_message_id")
    client.logout()  # the session expired while the reply was being typed

    response = post(
        client,
        f"{url}/reply",
        {
            "parent": parent.public_id,
            "idempotency_key": hidden(page, "idempotency_key"),
            "expected_last_message_id": shown_last,
            "mode": "reply",
            "to": "Carol Customer <customer@example.com>",
            "cc": "ops@example.com",
            "bcc": "audit@example.com",
            "text": "Typed while signed out",
            "attachments": [SimpleUploadedFile("label.pdf", b"%PDF", "application/pdf")],
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/login?next={url}"
    login_page = client.get(response["Location"]).content.decode()
    assert f'name="next" value="{url}"' in login_page
    # Meanwhile the customer wrote again.
    arrive(inbox, parent, "Are you there?", django_capture_on_commit_callbacks)

    response = client.post(
        "/login", {"username": staff_user.email, "password": PASSWORD, "next": url}
    )
    assert response["Location"] == url  # the thread's page, not the POST-only reply URL
    page = client.get(url).content.decode()
    assert re.search(r'id="reply-body"[^>]*>Typed while signed out</textarea>', page)
    assert 'value="ops@example.com"' in page and 'value="audit@example.com"' in page
    assert "You were signed out before this reply was sent" in page
    assert "Attach again: label.pdf" in page
    # The form still expects the message shown before the expiry: the new one is caught.
    assert hidden(page, "expected_last_message_id") == shown_last
    response = post(
        client,
        f"{url}/reply",
        {
            "parent": parent.public_id,
            "idempotency_key": hidden(page, "idempotency_key"),
            "expected_last_message_id": hidden(page, "expected_last_message_id"),
            "mode": "reply",
            "to": "Carol Customer <customer@example.com>",
            "text": "Typed while signed out",
        },
    )
    assert response.status_code == 409 and "Are you there?" in response.content.decode()
    assert not Message.objects.filter(direction="outbound").exists()


# --- autosave ---------------------------------------------------------------------------------


def test_autosave_keeps_the_reply_as_the_persons_own_draft_and_the_send_removes_it(
    staff_client, post, parent
):
    url = f"/threads/{parent.thread.public_id}"
    page = staff_client.get(url).content.decode()
    autosave = f"/drafts/autosave?thread={parent.thread.public_id}"
    fields = {
        "parent": parent.public_id,
        "idempotency_key": hidden(page, "idempotency_key"),
        "to": "Carol Customer <customer@example.com>",
        "cc": "ops@",  # still being typed: not an address yet
        "text": "First words",
    }
    first = staff_client.post(autosave, fields).json()
    draft = Message.objects.get(public_id=first["draft"])
    assert draft.status == "draft" and draft.text == "First words"
    assert draft.thread_id == parent.thread_id and draft.in_reply_to == parent.message_id
    assert draft.created_by["type"] == "user"
    second = staff_client.post(
        autosave, {**fields, "draft": draft.public_id, "text": "More"}
    ).json()
    assert second["draft"] == draft.public_id
    assert Message.objects.filter(status="draft").count() == 1
    back = staff_client.get(f"{autosave}&parent={parent.public_id}").json()
    assert back["text"] == "More" and back["draft"] == draft.public_id

    post(
        staff_client,
        f"{url}/reply",
        {**fields, "cc": "", "mode": "reply", "text": "More", "draft": draft.public_id},
    )
    assert not Message.objects.filter(status="draft").exists()
    assert Message.objects.get(direction="outbound").text == "More"
    # An autosave that was on its way when the form was sent leaves nothing behind.
    late = staff_client.post(autosave, {**fields, "text": "More"})
    assert late.status_code == 409 and late.json()["code"] == "form_sent"
    assert not Message.objects.filter(status="draft").exists()


def test_autosave_signed_out_answers_401_json_with_the_login_to_the_threads_page(client, parent):
    url = f"/threads/{parent.thread.public_id}"
    response = client.post(
        f"/drafts/autosave?thread={parent.thread.public_id}",
        {"parent": parent.public_id, "text": "x", "page": url},
    )
    assert response.status_code == 401
    assert response.json()["code"] == "signed_out"
    assert response.json()["login"] == f"/login?next=%2Fthreads%2F{parent.thread.public_id}"
    evil = client.post("/drafts/autosave", {"text": "x", "page": "https://evil.example/"})
    assert evil.json()["login"] == "/login?next=%2F"
    assert not Message.objects.filter(status="draft").exists()


def test_autosave_in_another_organizations_thread_is_404(staff_client, other_inbox):
    theirs = MessageFactory(inbox=other_inbox, thread=ThreadFactory(inbox=other_inbox))
    response = staff_client.post(
        f"/drafts/autosave?thread={theirs.thread.public_id}",
        {"parent": theirs.public_id, "text": "x"},
    )
    assert response.status_code == 404
    assert not Message.objects.filter(status="draft").exists()


def test_someone_elses_draft_id_is_not_overwritten_by_autosave(staff_client, parent, org):
    from inboxes.tests.factories import MembershipFactory
    from messages.services import drafts
    from messages.services.provenance import user_actor

    colleague = MembershipFactory(organization=org).user
    theirs = drafts.create_draft(
        parent.inbox,
        fields={"text": "Colleague's"},
        parent=parent,
        created_by=user_actor(colleague),
    )
    response = staff_client.post(
        f"/drafts/autosave?thread={parent.thread.public_id}",
        {"parent": parent.public_id, "text": "Mine", "draft": theirs.public_id},
    )
    assert response.json()["draft"] != theirs.public_id
    theirs.refresh_from_db()
    assert theirs.text == "Colleague's"


def test_compose_save_draft_goes_into_the_autosaved_draft(staff_client, inbox):
    page = staff_client.get("/compose").content.decode()
    saved = staff_client.post(
        "/drafts/autosave", {"inbox": inbox.public_id, "to": "ann@example.com", "text": "Hi"}
    ).json()
    response = staff_client.post(
        "/compose",
        {
            "idempotency_key": hidden(page, "idempotency_key"),
            "inbox": inbox.public_id,
            "to": "ann@example.com",
            "subject": "Hello",
            "text": "Hi Ann",
            "draft": saved["draft"],
            "action": "save_draft",
        },
    )
    assert response["Location"] == f"/drafts/{saved['draft']}"
    draft = Message.objects.get(status="draft")
    assert (draft.subject, draft.text) == ("Hello", "Hi Ann")


def test_draft_edits_posted_in_an_expired_session_come_back_after_the_login(
    client, staff_user, inbox
):
    from messages.services import drafts

    draft = drafts.create_draft(inbox, fields={"to": ["ann@example.com"], "text": "Old"})
    client.force_login(staff_user)
    client.logout()
    url = f"/drafts/{draft.public_id}"
    response = client.post(url, {"to": "ann@example.com", "subject": "S", "text": "New words"})
    assert response["Location"] == f"/login?next={url}"
    client.force_login(staff_user)
    page = client.get(url).content.decode()
    assert "New words</textarea>" in page and "not saved yet" in page
    draft.refresh_from_db()
    assert draft.text == "Old"  # nothing saved unseen
