"""Outbound MIME: threading headers, recipients, the From header, forwards' parts."""

import email
import email.policy
import email.utils

import pytest

from inboxes.tests.factories import InboxFactory
from messages import tasks
from messages.services.mime import build_mime, render_mime
from messages.services.send import forward_message, reply_to_message, send_message
from messages.tests.factories import MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def queued(inbox, **kwargs):
    """A queued message, stored like the API stores it, without running the worker."""
    fields = {"to": ["a@example.com"], "subject": "s", "text": "t", **kwargs}
    return send_message(inbox, **fields)


def test_mime_has_threading_headers_reply_to_and_no_bcc(inbox):
    parent = MessageFactory(
        inbox=inbox,
        thread=ThreadFactory(inbox=inbox),
        message_id="<p@example.com>",
        references=[f"<r{i}@x>" for i in range(30)],
    )
    reply = reply_to_message(
        parent, text="t", bcc=["hidden@example.com"], reply_to=["Team <team@example.com>"]
    )
    mime = email.message_from_bytes(render_mime(build_mime(reply)), policy=email.policy.default)
    references = mime["References"].split()
    assert (
        len(references) == 20 and references[0] == "<r0@x>" and references[-1] == "<p@example.com>"
    )
    assert (
        mime["In-Reply-To"] == "<p@example.com>" and mime["Reply-To"] == "Team <team@example.com>"
    )
    assert "Bcc" not in mime and mime["Subject"] == "Re: Hello"


@pytest.mark.parametrize(
    "name",
    [
        "Lovelace, Ada",
        'Ada "the Countess" Lovelace',
        "Ada (ACM) Lovelace",
        "Back\\slash; Ada",
        "Ádá Lövelace, PhD",
    ],
)
def test_a_reply_to_a_display_name_with_special_characters_goes_to_one_quoted_recipient(
    inbox, name, sandbox
):
    parent = MessageFactory(
        inbox=inbox,
        thread=ThreadFactory(inbox=inbox),
        direction="inbound",
        status="received",
        from_name=name,
        from_email="ada@example.com",
        to=[inbox.email],
        message_id="<p@example.com>",
    )
    reply = reply_to_message(parent, text="thanks")
    mime = email.message_from_bytes(render_mime(build_mime(reply)), policy=email.policy.default)
    [recipient] = mime["To"].addresses
    assert recipient.addr_spec == "ada@example.com" and recipient.display_name == name
    tasks.send_message.apply(args=[reply.pk])
    [(_, envelope, _)] = sandbox()
    # One envelope recipient (the comma did not split it in two), and it is Ada.
    [(_, address)] = email.utils.getaddresses(envelope["recipients"])
    assert address == "ada@example.com"


def test_the_from_header_is_the_inbox_address_exactly(org):
    # An address stored before canonical forms were enforced cannot turn into another mailbox.
    inbox = InboxFactory(organization=org, name="Desk", email='"desk"@sendook.localhost')
    mime = build_mime(queued(inbox))
    assert mime["From"].addresses[0].addr_spec != "desk@sendook.localhost"


def _forwarded(inbox, parent, **kwargs):
    forward = forward_message(parent, to=["boss@example.com"], **kwargs)
    raw = render_mime(build_mime(forward))
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_a_forward_given_only_text_carries_the_note_in_its_html_part_too(inbox):
    parent = MessageFactory(
        inbox=inbox,
        thread=ThreadFactory(inbox=inbox),
        direction="inbound",
        status="received",
        subject="Report",
        text="the numbers",
        html="<p>the numbers</p>",
    )
    mime = _forwarded(inbox, parent, text="FYI <see below>\nsecond line")
    html = mime.get_body(preferencelist=("html",)).get_content()
    assert "FYI &lt;see below&gt;<br>second line" in html
    assert html.index("FYI") < html.index("Forwarded message") < html.index("<p>the numbers</p>")
    text = mime.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("FYI <see below>\nsecond line") and "the numbers" in text


def test_a_forwarded_inline_image_keeps_its_content_id_beside_the_html(inbox):
    from django.core.files.base import ContentFile

    from messages.tests.mail_factories import AttachmentFactory

    parent = MessageFactory(
        inbox=inbox,
        thread=ThreadFactory(inbox=inbox),
        direction="inbound",
        status="received",
        subject="Logo",
        text="see logo",
        html='<p>see <img src="cid:logo@x"></p>',
    )
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 20
    AttachmentFactory(
        message=parent,
        filename="logo.png",
        content_type="image/png",
        size=len(png),
        file=ContentFile(png, name="logo.png"),
        content_id="logo@x",
        inline=True,
    )
    AttachmentFactory(message=parent)  # and a real attachment
    mime = _forwarded(inbox, parent, text="FYI")

    html_part = mime.get_body(preferencelist=("html",))
    assert 'src="cid:logo@x"' in html_part.get_content()
    related = mime.get_body(preferencelist=("related",))
    [image] = [part for part in related.iter_parts() if part.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<logo@x>" and image.get_content_disposition() == "inline"
    assert image.get_content() == png
    # What a mail client lists as attachments: the PDF only, not the inline image.
    assert [part.get_filename() for part in mime.iter_attachments()] == ["report.pdf"]
