"""parse_email end to end: the corpus, forwards, invites, reports, attachments and bodies. Pure Python, no database."""

from __future__ import annotations

import pytest

from messages.parsing import (
    Address,
    parse_email,
)
from messages.tests.parsing.corpus import (
    FIXTURE_NAMES,
    PDF_START,
    PNG,
    attachment_named,
    parse_fixture,
    raw_fixture,
)

# --------------------------------------------------------------------------------------------
# The corpus as a whole


def test_the_fixture_corpus_has_at_least_thirty_messages():
    assert len(FIXTURE_NAMES) >= 30


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture_parses_with_a_sender_a_subject_and_readable_content(name):
    parsed = parse_fixture(name)

    assert parsed.from_ is not None and "@" in parsed.from_.email
    assert parsed.subject
    assert parsed.text.strip() or parsed.attachments
    assert parsed.extracted_text.strip() or not parsed.text.strip()
    assert "\x00" not in parsed.text + parsed.subject
    assert any(header.lower() == "subject" for header, _ in parsed.headers)
    assert parsed.date is None or parsed.date.tzinfo is not None


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture_parses_the_same_after_line_endings_change(name):
    raw = raw_fixture(name)
    flipped = raw.replace(b"\r\n", b"\n") if b"\r\n" in raw else raw.replace(b"\n", b"\r\n")

    original, converted = parse_email(raw), parse_email(flipped)

    assert converted.subject == original.subject
    assert converted.from_ == original.from_
    assert converted.extracted_text.strip() == original.extracted_text.strip()
    assert [a.filename for a in converted.attachments] == [a.filename for a in original.attachments]


# --------------------------------------------------------------------------------------------
# Forwards, invites, reports


def test_inline_forward_keeps_the_note_as_extracted_text_and_the_forward_in_text():
    parsed = parse_fixture("gmail_forward_inline.eml")

    assert parsed.extracted_text == "FYI, please review before Friday."
    assert "Your contract renews on 1 December" in parsed.text
    assert parsed.attachments == []


def test_forward_as_attachment_keeps_the_original_message_as_an_eml_attachment():
    parsed = parse_fixture("forward_as_attachment.eml")

    (attachment,) = parsed.attachments
    assert attachment.content_type == "message/rfc822"
    assert attachment.filename == "Suspicious login notice.eml"
    inner = parse_email(attachment.content)
    assert inner.subject == "Suspicious login notice"
    assert inner.from_ == Address(email="no-reply@phish.example", name="Security Team")
    assert "http://phish.example/login" in inner.text
    assert "Click here" not in parsed.text


def test_calendar_invite_is_kept_as_an_ics_attachment_beside_the_text():
    parsed = parse_fixture("calendar_invite.eml")

    assert "You have been invited" in parsed.text
    calendar = attachment_named(parsed, "invite-1.ics")
    assert calendar.content_type == "text/calendar"
    assert b"SUMMARY:Sendook roadmap review" in calendar.content
    assert attachment_named(parsed, "invite.ics").content.startswith(b"BEGIN:VCALENDAR")


def test_delivery_status_bounce_is_auto_submitted_with_its_report_attached():
    parsed = parse_fixture("dsn_bounce.eml")

    assert parsed.auto_submitted
    assert parsed.from_ == Address(
        email="MAILER-DAEMON@mail.sendook.dev", name="Mail Delivery Subsystem"
    )
    assert "550 5.1.1 User unknown" in parsed.text
    report = attachment_named(parsed, "delivery-status-1.txt")
    assert report.content_type == "message/delivery-status"
    assert b"Final-Recipient: rfc822; nobody@nowhere.example" in report.content
    assert b"Status: 5.1.1" in report.content
    headers = attachment_named(parsed, "headers-2.txt")
    assert b"Message-ID: <welcome-555@sendook.dev>" in headers.content


def test_read_receipt_is_auto_submitted():
    parsed = parse_fixture("read_receipt.eml")

    assert parsed.auto_submitted
    assert parsed.attachments[0].content_type == "message/disposition-notification"


def test_out_of_office_reply_is_auto_submitted():
    assert parse_fixture("auto_reply_vacation.eml").auto_submitted


def test_ordinary_mail_and_mailing_list_mail_are_not_auto_submitted():
    assert not parse_fixture("gmail_reply.eml").auto_submitted
    assert not parse_fixture("mailing_list.eml").auto_submitted


# --------------------------------------------------------------------------------------------
# Attachments and bodies


def test_inline_image_referenced_by_cid_is_an_inline_attachment_with_its_bytes():
    parsed = parse_fixture("inline_image_cid.eml")

    (image,) = parsed.attachments
    assert image.filename == "logo.png"
    assert image.content_type == "image/png"
    assert image.content_id == "logo.png@01DA1C6E.5A3B2C10"
    assert image.inline
    assert image.content == PNG
    assert f'src="cid:{image.content_id}"' in parsed.html
    assert parsed.text.strip() == "Meet our new logo."


def test_outlook_nested_structure_finds_body_inline_image_and_attached_report():
    parsed = parse_fixture("outlook_nested_multipart.eml")

    assert parsed.text.strip() == "See the screenshot below and the report attached."
    assert "<img" in parsed.html
    image = attachment_named(parsed, "image001.png")
    # Outlook marks it "attachment", but the HTML shows it, so it is inline.
    assert image.inline and image.content == PNG
    report = attachment_named(parsed, "report.pdf")
    assert not report.inline and report.content.startswith(PDF_START)


def test_rfc2231_filenames_are_decoded_including_continuations():
    parsed = parse_fixture("rfc2231_filename.eml")

    assert [a.filename for a in parsed.attachments] == [
        "résumé final.pdf",
        "€ exchange rates über 2023.csv",
    ]
    assert parsed.attachments[0].content.startswith(PDF_START)
    assert parsed.attachments[1].content == b"currency,rate\nEUR,1.00\n"


def test_rfc2047_filename_is_decoded_and_a_missing_filename_is_generated():
    parsed = parse_fixture("rfc2047_filename.eml")

    assert [a.filename for a in parsed.attachments] == ["Привет.pdf", "attachment-2.pdf"]
    assert all(a.content.startswith(PDF_START) for a in parsed.attachments)


def test_apple_mail_inline_pdf_is_an_attachment_and_the_first_text_part_is_the_body():
    parsed = parse_fixture("apple_mail_inline_attachment.eml")

    assert parsed.text.strip() == "Here is the signed contract."
    pdf = attachment_named(parsed, "contract signed.pdf")
    assert pdf.content.startswith(PDF_START)
    assert not pdf.inline


def test_truncated_mime_keeps_the_text_and_the_partial_attachment():
    parsed = parse_fixture("truncated_mime.eml")

    assert parsed.text.strip() == "Here is the photo you asked for."
    photo = attachment_named(parsed, "photo.png")
    assert PNG.startswith(photo.content[:8])
    assert 0 < len(photo.content) < len(PNG)


def test_html_only_message_gets_a_plain_text_version_without_scripts_or_styles():
    parsed = parse_fixture("html_only.eml")

    assert parsed.text.splitlines()[0] == "Black Friday"
    assert "Save 40% on everything & get free shipping today." in parsed.text
    assert "- Shoes\n- Hats" in parsed.text
    assert "Café é €5" in parsed.text
    for hidden in ("Ignore me", "alert", "color:red", "<"):
        assert hidden not in parsed.text


def test_html_blockquotes_become_quoted_lines_that_extraction_removes():
    raw = (
        b"From: a@example.com\r\nSubject: Re: hi\r\nContent-Type: text/html\r\n\r\n"
        b"<div>Sounds good!</div><div class=gmail_quote>On Mon, Nov 20, 2023 at 9:00 AM Bo "
        b"&lt;bo@example.com&gt; wrote:<blockquote><p>Shall we meet?</p></blockquote></div>"
    )

    parsed = parse_email(raw)

    assert "> Shall we meet?" in parsed.text
    assert parsed.extracted_text == "Sounds good!"
