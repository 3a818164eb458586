import base64

import pytest

from messages.models import Attachment, Message, Thread
from sendook.events.models import Event

pytestmark = pytest.mark.django_db


def url(inbox, suffix=""):
    return f"/v1/inboxes/{inbox.public_id}/messages{suffix}"


def test_send_answers_202_with_the_queued_message_and_the_worker_sends_it(inbox, send, sandbox):
    response = send(
        url(inbox, "/send"),
        {
            "to": ["Alice <alice@example.com>"],
            "cc": ["bob@example.com"],
            "bcc": ["secret@example.com"],
            "subject": "Welcome",
            "text": "Plain body",
            "html": "<p>HTML body</p>",
            "labels": ["outbound", "welcome"],
        },
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["id"].startswith("msg_") and body["_id"] == body["id"]
    assert body["status"] == "queued"
    assert body["from"] == "support@sendook.localhost"
    assert body["to"] == ["Alice <alice@example.com>"] and body["bcc"] == ["secret@example.com"]
    assert body["labels"] == ["outbound", "welcome"]
    assert body["messageId"] == f"<{body['id']}@sendook.localhost>"
    assert body["threadId"].startswith("thread_") and body["inboxId"] == inbox.public_id

    message = Message.objects.get(public_id=body["id"])
    assert message.status == Message.Status.SENT and message.external_message_id.startswith(
        "sandbox-"
    )
    [(mime, envelope, raw)] = sandbox()
    assert mime["Message-ID"] == body["messageId"]
    assert (
        mime["From"] == '"Support Bot" <support@sendook.localhost>'
        or mime["From"] == "Support Bot <support@sendook.localhost>"
    )
    assert mime["Subject"] == "Welcome" and mime["To"] == "Alice <alice@example.com>"
    assert "Bcc" not in mime and b"secret@example.com" not in raw
    assert sorted(envelope["recipients"]) == [
        "Alice <alice@example.com>",
        "bob@example.com",
        "secret@example.com",
    ]
    assert mime.get_body(("plain",)).get_content().strip() == "Plain body"
    assert mime.get_body(("html",)).get_content().strip() == "<p>HTML body</p>"
    assert message.raw.read() == raw
    assert Event.objects.filter(type="message.sent", message_public_id=body["id"]).count() == 1


def test_a_message_with_only_html_or_only_text_is_accepted(inbox, send):
    for body in ({"text": "just text"}, {"html": "<b>just html</b>"}):
        response = send(url(inbox, "/send"), {"to": ["a@example.com"], "subject": "s", **body})
        assert response.status_code == 202, response.json()


def test_attachments_are_stored_and_sent_and_downloadable(inbox, send, sandbox, api_client):
    pdf = b"%PDF-1.4 fake \x00\xff bytes"
    response = send(
        url(inbox, "/send"),
        {
            "to": ["a@example.com"],
            "subject": "Report",
            "text": "see attached",
            "attachments": [
                {
                    "content": base64.b64encode(pdf).decode(),
                    "name": 'q3 "final";.pdf',
                    "contentType": "application/pdf",
                },
                {"content": base64.b64encode(b"a,b\n").decode(), "name": "data.csv"},
            ],
        },
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    [first, second] = body["attachments"]
    assert (
        first["name"] == 'q3 "final";.pdf' and first["size"] == len(pdf) and "content" not in first
    )
    assert second["contentType"] == "text/csv"

    [(mime, _, _)] = sandbox()
    parts = list(mime.iter_attachments())
    assert parts[0].get_content() == pdf and parts[0].get_filename() == 'q3 "final";.pdf'

    detail = api_client.get(url(inbox, f"/{body['id']}")).json()
    assert base64.b64decode(detail["attachments"][0]["content"]) == pdf

    download = api_client.get(url(inbox, f"/{body['id']}/attachments/{first['id']}"))
    assert download.status_code == 200 and download.content == pdf
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="q3 \\"final\\";.pdf"'


def test_raw_download_is_the_mime_that_was_sent(inbox, send, sandbox, api_client):
    body = send(
        url(inbox, "/send"), {"to": ["a@example.com"], "subject": "Raw", "text": "x"}
    ).json()
    [(_, _, raw)] = sandbox()
    response = api_client.get(url(inbox, f"/{body['id']}/raw"))
    assert response.status_code == 200 and response["Content-Type"] == "message/rfc822"
    assert response.content == raw


def test_unicode_names_and_subjects_are_encoded_in_headers(org, send, sandbox):
    from inboxes.tests.factories import InboxFactory

    inbox = InboxFactory(organization=org, name="Zoë Bøt", email="zoe@sendook.localhost")
    send(
        url(inbox, "/send"),
        {"to": ["José <jose@example.com>"], "subject": "Café ☕", "text": "Olá"},
    )
    [(mime, _, raw)] = sandbox()
    assert raw.isascii()  # every header and part is 7-bit clean
    assert mime["Subject"] == "Café ☕" and mime["From"].addresses[0].display_name == "Zoë Bøt"
    assert mime.get_body(("plain",)).get_content().strip() == "Olá"


def test_sending_from_another_organizations_inbox_is_404(other_inbox, send):
    response = send(
        url(other_inbox, "/send"), {"to": ["a@example.com"], "subject": "s", "text": "t"}
    )
    assert response.status_code == 404 and response.json() == {
        "error": "Inbox not found",
        "message": "Inbox not found",
        "code": "inbox_not_found",
    }
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": ["not-an-address"]}, "to.0"),
        ({"to": ["a@example.com", "b@@example.com"]}, "to.1"),
        ({"to": []}, "to"),
        ({"to": ["a@example.com"], "cc": ["Eve <eve@example.com>, x@example.com"]}, "cc.0"),
        ({"to": ["a@example.com\r\nBcc: victim@example.com"]}, "to.0"),
        ({"to": ["Eve\n <eve@example.com>"]}, "to.0"),
        ({"to": ["a@example.com"], "subject": "Hi\r\nBcc: victim@example.com"}, "subject"),
        ({"to": ["a@example.com"], "subject": "Hi\x00"}, "subject"),
        ({"to": ["a@example.com"], "text": "", "html": ""}, "text"),
        ({"to": ["a@example.com"], "subject": None}, "subject"),
        ({"to": ["a@example.com"], "subject": 5}, "subject"),
        ({"to": ["a@example.com"], "labels": ["ok", "bad\nlabel"]}, "labels.1"),
        ({"to": [f"r{i}@example.com" for i in range(51)]}, "to"),
        (
            {
                "to": [f"r{i}@example.com" for i in range(30)],
                "cc": [f"c{i}@example.com" for i in range(21)],
            },
            "to",
        ),
        (
            {
                "to": ["a@example.com"],
                "attachments": [{"content": "aGVsbG8="}, {"content": "not base64!!"}],
            },
            "attachments.1.content",
        ),
        (
            {
                "to": ["a@example.com"],
                "attachments": [{"content": "aGVsbG8=", "name": "a\r\nX-Evil: 1.txt"}],
            },
            "attachments.0.name",
        ),
        (
            {
                "to": ["a@example.com"],
                "attachments": [{"content": "aGVsbG8=", "contentType": "text/plain\r\nX-Evil: 1"}],
            },
            "attachments.0.contentType",
        ),
        ({"to": ["a@example.com"], "attachments": [{"name": "x.txt"}]}, "attachments.0.content"),
        # Line breaks beyond CR/LF (found by reliability/header_injection.py): the stdlib refuses
        # them in a header at build time, which left such a message accepted but never sendable.
        (
            {
                "to": ["a@example.com"],
                "attachments": [
                    {"content": "aGVsbG8=", "contentId": "a\x85Content-Type: text/html"}
                ],
            },
            "attachments.0.contentId",
        ),
        ({"to": ["a@example.com"], "subject": "Hi\u2028Bcc: victim@example.com"}, "subject"),
        (
            {
                "to": ["a@example.com"],
                "attachments": [{"content": "aGVsbG8=", "name": "a\x0bb.txt"}],
            },
            "attachments.0.name",
        ),
        # The stdlib decodes an encoded word in a filename parameter and writes its raw CRLF.
        (
            {
                "to": ["a@example.com"],
                "attachments": [{"content": "aGVsbG8=", "name": "=?utf-8?q?x=0D=0AX-Evil:_1?="}],
            },
            "attachments.0.name",
        ),
        # Found by reliability/header_injection.py: an encoded word touching other text is still
        # decoded when the Content-ID header is built (it injected an X-Injected header) ...
        (
            {
                "to": ["a@example.com"],
                "attachments": [
                    {"content": "aGVsbG8=", "contentId": "=?utf-8?q?x=0D=0AX-Injected:_1?=\u00c2K"}
                ],
            },
            "attachments.0.contentId",
        ),
        # ... and line breaks beyond CR/LF in a display name left the message accepted but unbuildable.
        (
            {
                "to": ["a@example.com"],
                "cc": ['"Ann\x85Bcc: evil@attacker.example" <bob@example.com>'],
            },
            "cc.0",
        ),
        ({"to": ["Q\x1eu <alice@example.com>"]}, "to.0"),
        ({"to": ["=?utf-8?q?Ann=0D=0ABcc:_evil@attacker.example?= <alice@example.com>"]}, "to.0"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(inbox, send, sandbox, body, field):
    payload = {"subject": "s", "text": "t", **body}
    response = send(url(inbox, "/send"), payload)
    assert response.status_code == 400, response.json()
    error = response.json()
    assert error["code"] == "validation_error" and field in error["fields"], error
    assert (
        Message.objects.count() == 0
        and Thread.objects.count() == 0
        and Attachment.objects.count() == 0
    )
    assert sandbox() == []


def test_oversized_attachments_and_messages_are_refused(inbox, send, settings):
    settings.SENDOOK_MAX_ATTACHMENT_BYTES = 10
    settings.SENDOOK_MAX_MESSAGE_BYTES = 25
    big = base64.b64encode(b"x" * 11).decode()
    ok = base64.b64encode(b"x" * 10).decode()
    response = send(
        url(inbox, "/send"),
        {
            "to": ["a@example.com"],
            "subject": "s",
            "text": "t",
            "attachments": [{"content": ok}, {"content": big}],
        },
    )
    assert response.status_code == 413 and "attachments.1.content" in response.json()["fields"]
    response = send(
        url(inbox, "/send"),
        {
            "to": ["a@example.com"],
            "subject": "s",
            "text": "t",
            "attachments": [{"content": ok}] * 3,
        },
    )
    assert response.status_code == 413 and "attachments" in response.json()["fields"]
    settings.SENDOOK_MAX_ATTACHMENTS = 2
    response = send(
        url(inbox, "/send"),
        {
            "to": ["a@example.com"],
            "subject": "s",
            "text": "t",
            "attachments": [{"content": "eA=="}] * 3,
        },
    )
    assert response.status_code == 400 and "attachments" in response.json()["fields"]
    assert Message.objects.count() == 0 and Attachment.objects.count() == 0


def test_sending_to_a_suppressed_address_is_422(inbox, org, send):
    from messages.models import Suppression

    Suppression.objects.create(organization=org, email="gone@example.com", reason="bounce")
    response = send(
        url(inbox, "/send"),
        {"to": ["ok@example.com"], "cc": ["Gone <GONE@example.com>"], "subject": "s", "text": "t"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "recipient_suppressed" and "cc.0" in response.json()["fields"]
    assert Message.objects.count() == 0


def test_idempotency_key_replays_the_response_and_sends_once(inbox, send, sandbox):
    body = {"to": ["a@example.com"], "subject": "once", "text": "t"}
    first = send(url(inbox, "/send"), body, HTTP_IDEMPOTENCY_KEY="abc-1")
    second = send(url(inbox, "/send"), body, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json() and second["Idempotent-Replayed"] == "true"
    assert Message.objects.count() == 1 and len(sandbox()) == 1

    changed = send(url(inbox, "/send"), {**body, "subject": "twice"}, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert changed.status_code == 409 and changed.json()["code"] == "idempotency_key_reused"
    assert Message.objects.count() == 1


def test_the_send_rate_limit_answers_429_with_headers(inbox, send, settings):
    settings.SENDOOK_SEND_RATE_LIMIT = "2/h"
    body = {"to": ["a@example.com"], "subject": "s", "text": "t"}
    responses = [send(url(inbox, "/send"), body) for _ in range(3)]
    assert [r.status_code for r in responses] == [202, 202, 429]
    limited = responses[2]
    assert limited.json()["code"] == "rate_limited" and int(limited["Retry-After"]) >= 1
    assert "limit=2" in limited["RateLimit"] and limited["RateLimit-Policy"] == "2;w=3600"
    assert Message.objects.count() == 2


def test_the_daily_cap_counts_replies_too(inbox, org, send):
    org.daily_send_cap = 1
    org.save()
    first = send(url(inbox, "/send"), {"to": ["a@example.com"], "subject": "s", "text": "t"})
    assert first.status_code == 202
    reply = send(url(inbox, f"/{first.json()['id']}/reply"), {"text": "again"})
    assert reply.status_code == 429 and reply.json()["code"] == "rate_limited"
    assert Message.objects.count() == 1


def test_a_non_ascii_attachment_name_is_downloadable_with_an_rfc_5987_filename(
    inbox, send, api_client
):
    body = send(
        url(inbox, "/send"),
        {
            "to": ["a@example.com"],
            "subject": "s",
            "text": "t",
            "attachments": [{"content": "aGk=", "name": "résumé ✓.txt"}],
        },
    ).json()
    attachment = body["attachments"][0]
    response = api_client.get(url(inbox, f"/{body['id']}/attachments/{attachment['id']}"))
    assert response.status_code == 200 and response.content == b"hi"
    assert (
        response["Content-Disposition"]
        == "attachment; filename*=utf-8''r%C3%A9sum%C3%A9%20%E2%9C%93.txt"
    )
    assert response["Content-Type"] == "text/plain"


def test_a_path_in_an_attachment_name_is_reduced_to_the_file_name(inbox, send):
    body = send(
        url(inbox, "/send"),
        {
            "to": ["a@example.com"],
            "subject": "s",
            "text": "t",
            "attachments": [{"content": "aGk=", "name": "../../etc/passwd"}],
        },
    ).json()
    assert body["attachments"][0]["name"] == "passwd"
