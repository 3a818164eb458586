# ruff: noqa: RUF001  (the fixtures are about non-ASCII text on purpose)
"""Tests for the hardened inbound MIME parser; pure Python, no Django or database needed."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messages.inbound.parsing import (
    Address,
    ParseError,
    ParseLimits,
    extract_new_text,
    parse_address_list,
    parse_email,
)
from messages.services.threads import normalize_subject

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "eml"
FIXTURE_NAMES = sorted(path.name for path in FIXTURES.glob("*.eml"))
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PDF_START = b"%PDF-1.4\n"
# Hypothesis must not write its example database into the repository.
FUZZ = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def raw_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse_fixture(name: str):
    return parse_email(raw_fixture(name))


def attachment_named(parsed, filename: str):
    matches = [a for a in parsed.attachments if a.filename == filename]
    assert matches, [a.filename for a in parsed.attachments]
    return matches[0]


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
# Replies from the common clients


def test_gmail_reply_keeps_threading_headers_and_drops_the_wrapped_attribution():
    parsed = parse_fixture("gmail_reply.eml")

    assert parsed.message_id == "<CAHk9f0Rt+ZxY1q@mail.gmail.com>"
    assert parsed.in_reply_to == "<CAB7a8b9c0Qd@mail.gmail.com>"
    assert parsed.references == ["<CAF1x2y3Z4@mail.sendook.dev>", "<CAB7a8b9c0Qd@mail.gmail.com>"]
    assert parsed.date == datetime(2023, 11, 21, 10, 5, tzinfo=UTC)
    assert parsed.extracted_text == (
        "Thanks, the invoice looks right now. I will pay it this week.\n\nAlice"
    )
    assert "We fixed the amount" in parsed.text
    assert "gmail_quote" in parsed.html


def test_gmail_reply_to_a_plus_address_keeps_the_tag_and_lowercases_the_domain():
    parsed = parse_fixture("gmail_reply.eml")

    assert parsed.to == [Address(email="support+ticket-42@sendook.dev", name="Sendook Support")]


def test_outlook_reply_quoted_history_is_removed_from_extracted_text():
    parsed = parse_fixture("outlook_reply.eml")

    assert parsed.subject == "RE: Delivery delays on the EU region"
    assert parsed.extracted_text.endswith("Kind regards,\nBob")
    assert "Sent: Monday" not in parsed.extracted_text
    assert "We are seeing delays" not in parsed.extracted_text


def test_outlook_windows_1252_text_keeps_smart_quotes_dashes_and_euro_sign():
    parsed = parse_fixture("outlook_reply.eml")

    assert "That’s great news – deliveries" in parsed.text
    assert "The € charge" in parsed.text


def test_outlook_original_message_separator_cuts_the_history():
    parsed = parse_fixture("outlook_original_message.eml")

    assert parsed.extracted_text == (
        "Approved. Please send the purchase order to accounts payable.\n\nCarl"
    )
    assert parsed.references == ["<quote-76@sendook.dev>", "<quote-77@sendook.dev>"]


def test_apple_mail_reply_drops_quote_and_the_sent_from_my_iphone_line():
    parsed = parse_fixture("apple_mail_reply.eml")

    assert parsed.subject == "Re: Café meetup"
    assert parsed.extracted_text == "Count me in for Thursday! I’ll bring the café vouchers."
    assert parsed.in_reply_to == "<meetup-1@sendook.dev>"


def test_thunderbird_reply_drops_the_signature_and_the_quote():
    parsed = parse_fixture("thunderbird_reply.eml")

    assert parsed.extracted_text == (
        "Rotated all three keys this morning, the old ones can be revoked."
    )
    assert "Erin Walsh\nPlatform team" in parsed.text


def test_thunderbird_bottom_posted_reply_keeps_the_answers_written_below_the_quotes():
    parsed = parse_fixture("thunderbird_bottom_post.eml")

    assert parsed.extracted_text == (
        "About twelve over the day, which matches your docs.\n\n"
        "Yes, they verify with the svix library."
    )


def test_french_reply_in_latin_1_is_decoded_and_le_a_ecrit_history_removed():
    parsed = parse_fixture("french_reply.eml")

    assert parsed.from_ == Address(email="jean.dupre@exemple.fr", name="Jean Dupré")
    assert parsed.subject == "Re\xa0: Problème de délivrabilité"
    assert parsed.extracted_text.endswith("À bientôt !\n\nJean")
    assert "Pouvez-vous" not in parsed.extracted_text


def test_german_reply_in_base64_is_decoded_and_am_schrieb_history_removed():
    parsed = parse_fixture("german_reply.eml")

    assert parsed.from_.name == "Hans Müller"
    assert parsed.subject == "AW: Angebot für 2024"
    assert "Größenbeschränkung" in parsed.extracted_text
    assert "Limit erhöht" not in parsed.extracted_text
    assert normalize_subject(parsed.subject) == "angebot für 2024"


def test_spanish_reply_in_latin_9_keeps_the_euro_sign_and_drops_escribio_history():
    parsed = parse_fixture("spanish_reply.eml")

    assert parsed.from_.name == "María Nuñez"
    assert parsed.extracted_text == "Perfecto, el importe de 20 € es correcto."


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
# Charsets


def test_latin_1_body_subject_and_raw_8bit_sender_name_are_decoded():
    parsed = parse_fixture("iso_8859_1.eml")

    assert parsed.subject == "Café crème et gâteau"
    assert parsed.from_.name == "René Lefèvre"
    assert "le café crème coûte 3 £" in parsed.text
    assert "Grüße aus Köln" in parsed.text


def test_windows_1252_body_and_subject_keep_curly_quotes_and_euro():
    parsed = parse_fixture("windows_1252.eml")

    assert parsed.subject == "“Smart” quotes – and € prices"
    assert parsed.text.strip() == "The “pro” plan costs €199 – that’s per month…"


def test_shift_jis_body_and_japanese_encoded_words_are_decoded():
    parsed = parse_fixture("shift_jis.eml")

    assert parsed.subject == "請求書の件"
    assert parsed.from_.name == "山田太郎"
    assert "請求書を添付いたします。" in parsed.text


def test_koi8_r_body_and_subject_are_decoded():
    parsed = parse_fixture("koi8_r.eml")

    assert parsed.subject == "Привет из Москвы"
    assert parsed.from_.name == "Иван Петров"
    assert parsed.text.strip() == "Здравствуйте! Письма доходят отлично."


def test_unknown_charset_name_falls_back_without_losing_text():
    parsed = parse_fixture("unknown_charset.eml")

    assert parsed.subject == "Status report"
    assert parsed.text.strip() == "All systems nominal — naïve check passed ✓"


def test_gb2312_label_on_gbk_text_decodes_through_the_superset():
    parsed = parse_fixture("gb2312_mislabelled.eml")

    assert parsed.subject == "发票"
    assert "您好，附件是发票。" in parsed.text
    assert "镕" in parsed.text


def test_raw_8bit_garbage_is_kept_readable_and_nul_bytes_are_dropped():
    parsed = parse_fixture("garbage_8bit.eml")

    assert parsed.subject.startswith("Grüße")
    assert parsed.subject.endswith("broken")
    assert parsed.from_.email == "mueller@example.de"
    assert "Hello" in parsed.text and "café end of body." in parsed.text
    assert "\x00" not in parsed.text and "\x00" not in parsed.subject


# --------------------------------------------------------------------------------------------
# Encoded words and addresses


def test_rfc2047_subject_split_across_words_mid_character_is_decoded():
    parsed = parse_fixture("rfc2047_subject_names.eml")

    assert parsed.subject == "Ünïcödé résumé — 日本語のテスト"


def test_rfc2047_display_names_are_decoded_including_a_comma_inside_the_name():
    parsed = parse_fixture("rfc2047_subject_names.eml")

    assert parsed.from_ == Address(email="Jose.Garcia@example.es", name="José García")
    assert parsed.to == [
        Address(email="john.doe@example.com", name="Doe, John (John)"),
        Address(email="asa@example.se", name="Åså Lund"),
        Address(email="plain@example.org", name=""),
    ]
    assert parsed.cc == []
    assert parsed.reply_to == [Address(email="andre@example.fr", name="André")]


def test_plus_addressed_recipients_keep_local_part_case_and_lowercase_domains():
    parsed = parse_fixture("plus_addressed.eml")

    assert parsed.from_ == Address(email="Nora.Jones@example.com", name="Nora Jones")
    assert parsed.to == [Address(email="billing+acme-corp@sendook.dev", name="Sendook Billing")]
    assert [a.email for a in parsed.cc] == ["Finance@example.com", "ops+alerts@sendook.dev"]
    assert parsed.reply_to == [Address(email="ap+invoices@example.com", name="Accounts Payable")]
    assert parsed.date == datetime(2023, 11, 21, 12, 0, tzinfo=UTC)


def test_missing_date_and_message_id_are_none():
    parsed = parse_fixture("no_date_no_message_id.eml")

    assert parsed.date is None
    assert parsed.message_id is None
    assert parsed.from_ == Address(email="old-system@legacy.example", name="")


def test_obsolete_date_and_bare_message_id_are_understood():
    parsed = parse_fixture("obsolete_date.eml")

    assert parsed.date == datetime(2023, 11, 21, 15, 0, tzinfo=UTC)
    assert parsed.message_id == "<bare-id-without-brackets@example.net>"
    assert parsed.in_reply_to == "<earlier@example.net>"


def test_references_folded_over_lines_are_all_kept_in_order():
    parsed = parse_fixture("mailing_list.eml")

    assert parsed.references == ["<list-root@example.org>", "<list-0@example.org>"]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "<<<>>>",
        '"unterminated <a@b.c',
        "a@b.c, , ,, ;;; (comment (nested",
        "=?utf-8?b?!!!?= <x@y.z>",
        "\x00\udcff@\udcfe",
        "group: a@b.c, d@e.f;",
        "(" * 5000 + "a@b.c",
    ],
)
def test_parse_address_list_never_raises_on_malformed_input(value):
    addresses = parse_address_list(value)

    assert all("@" in address.email for address in addresses)


def test_parse_address_list_reads_groups_and_encoded_names():
    addresses = parse_address_list("Team: =?utf-8?q?Zo=C3=AB?= <zoe@EXAMPLE.org>, bo@Example.org;")

    assert addresses == [
        Address(email="zoe@example.org", name="Zoë"),
        Address(email="bo@example.org", name=""),
    ]


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


# --------------------------------------------------------------------------------------------
# Verdicts


def test_authentication_results_from_our_server_win_over_a_forged_lower_header():
    parsed = parse_fixture("auth_results.eml")

    assert parsed.verdicts == {"spf": "softfail", "dkim": "fail", "dmarc": "fail"}


def test_ses_verdict_headers_become_spam_and_virus_verdicts():
    parsed = parse_fixture("ses_verdicts.eml")

    assert parsed.verdicts == {
        "spf": "pass",
        "dkim": "pass",
        "dmarc": "none",
        "spam": "pass",
        "virus": "fail",
    }
    assert parsed.attachments[0].filename == "invoice.pdf.exe"


def test_gmail_authentication_results_pass():
    assert parse_fixture("gmail_reply.eml").verdicts == {
        "spf": "pass",
        "dkim": "pass",
        "dmarc": "pass",
    }


def test_headers_are_listed_decoded_in_order_for_display():
    parsed = parse_fixture("french_reply.eml")

    names = [name for name, _ in parsed.headers]
    assert names[:3] == ["From", "To", "Subject"]
    assert dict(parsed.headers)["Subject"] == "Re\xa0: Problème de délivrabilité"


# --------------------------------------------------------------------------------------------
# extract_new_text on its own


def test_extract_new_text_removes_an_attribution_wrapped_over_two_lines():
    text = (
        "Works for me.\n\nOn Tue, Nov 21, 2023 at 10:02 AM Someone With A Long Name <\n"
        "someone@example.com> wrote:\n\n> earlier text\n"
    )

    assert extract_new_text(text) == "Works for me."


def test_extract_new_text_removes_outlook_header_blocks_in_other_languages():
    text = "Passt.\n\nVon: Anna <anna@example.de>\nGesendet: Montag, 20. November 2023\nAn: Bo\n"

    assert extract_new_text(text) == "Passt."


def test_extract_new_text_keeps_everything_when_removal_would_leave_nothing():
    text = "> only a quote\n> nothing new\n"

    assert extract_new_text(text) == text.strip()


def test_extract_new_text_keeps_a_sentence_that_merely_mentions_wrote():
    text = "On reflection I wrote:\nthe plan is fine."

    assert extract_new_text(text) == text


def test_extract_new_text_cuts_at_the_signature_separator():
    assert extract_new_text("Yes.\n-- \nBo\nCEO") == "Yes."


# --------------------------------------------------------------------------------------------
# Limits and hostile input


def multipart(parts: list[bytes], boundary: bytes = b"b") -> bytes:
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return (
        b"From: bomb@example.com\r\nSubject: bomb\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary="
        + boundary
        + b"\r\n\r\n"
        + body
        + b"--"
        + boundary
        + b"--\r\n"
    )


def assert_refused(raw: bytes, reason: str, limits: ParseLimits = ParseLimits()) -> None:
    with pytest.raises(ParseError) as caught:
        parse_email(raw, limits=limits)
    assert caught.value.reason == reason
    assert str(caught.value)


def test_ten_thousand_parts_are_refused_as_too_many_parts():
    part = b"Content-Type: text/plain\r\n\r\nx"

    assert_refused(multipart([part] * 10_000), "too_many_parts")


def test_multipart_nesting_a_thousand_deep_is_refused_as_too_deep():
    opening = b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (level, level + 1)
        for level in range(1000)
    )
    closing = b"".join(b"--b%d--\r\n" % level for level in reversed(range(1001)))
    raw = (
        b"From: bomb@example.com\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
        + opening
        + b"--b1000\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        + closing
    )

    assert_refused(raw, "too_deep")


def test_attached_messages_nested_a_thousand_deep_are_refused_as_too_deep():
    raw = b"From: bomb@example.com\r\n" + b"Content-Type: message/rfc822\r\n\r\n" * 1000 + b"hi"

    assert_refused(raw, "too_deep")


def test_attached_messages_nested_just_past_the_limit_are_refused_as_too_deep():
    raw = b"From: a@example.com\r\n" + b"Content-Type: message/rfc822\r\n\r\n" * 25 + b"hi"

    assert_refused(raw, "too_deep")


def test_a_one_mebibyte_header_is_refused_as_header_too_long():
    raw = b"From: a@example.com\r\nSubject: " + b"A" * (1024 * 1024) + b"\r\n\r\nbody"

    assert_refused(raw, "header_too_long")


def test_a_header_folded_to_one_mebibyte_is_refused_as_header_too_long():
    raw = b"From: a@example.com\r\nX-Long: start" + b"\r\n continued" * 100_000 + b"\r\n\r\nhi"

    assert_refused(raw, "header_too_long")


def test_five_thousand_headers_are_refused_as_too_many_headers():
    raw = b"".join(b"X-Header-%d: value\r\n" % n for n in range(5000)) + b"\r\nbody"

    assert_refused(raw, "too_many_headers")


def test_a_part_with_too_many_headers_is_refused():
    part = b"".join(b"X-Part-%d: v\r\n" % n for n in range(1500)) + b"\r\nhello"

    assert_refused(multipart([part]), "too_many_headers")


def test_a_thirty_mebibyte_message_is_refused_as_too_large():
    raw = b"From: a@example.com\r\nSubject: big\r\n\r\n" + b"x" * (30 * 1024 * 1024)

    assert_refused(raw, "too_large")


def test_a_flood_of_tiny_lines_is_refused_before_the_slow_parse():
    raw = b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
    raw += b"--x\n" * 6_000_000

    assert_refused(raw, "timeout")


def test_custom_limits_apply():
    assert_refused(
        raw_fixture("outlook_nested_multipart.eml"), "too_many_parts", ParseLimits(max_parts=3)
    )
    assert_refused(raw_fixture("gmail_reply.eml"), "too_large", ParseLimits(max_bytes=100))


def test_a_parse_over_its_time_budget_is_refused_as_timeout():
    assert_refused(raw_fixture("gmail_reply.eml"), "timeout", ParseLimits(max_seconds=0))


def test_empty_input_is_refused_as_unparseable():
    assert_refused(b"", "unparseable")
    assert_refused(b"\r\n\r\n", "unparseable")


def test_a_message_at_the_part_limit_still_parses():
    part = b"Content-Type: text/plain\r\n\r\nx"
    parsed = parse_email(multipart([b"Content-Type: text/plain\r\n\r\nbody"] + [part] * 498))

    assert parsed.text.strip() == "body"
    assert len(parsed.attachments) == 498


def test_comment_bomb_in_content_type_does_not_escape_as_anything_but_parse_error():
    raw = b"From: a@example.com\r\nContent-Type: text/plain; (" + b"(" * 20_000 + b"\r\n\r\nhi"

    try:
        parsed = parse_email(raw)
    except ParseError as error:
        assert error.reason in {"too_deep", "unparseable"}
    else:
        assert parsed.text.strip() == "hi"


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise_anything_but_parse_error(raw):
    try:
        parsed = parse_email(raw)
    except ParseError as error:
        assert error.reason
    else:
        assert isinstance(parsed.text, str)


@FUZZ
@given(
    st.sampled_from(FIXTURE_NAMES),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=20),
)
def test_corrupted_fixtures_never_raise_anything_but_parse_error(name, corruptions):
    raw = bytearray(raw_fixture(name))
    for position, value in corruptions:
        raw[position % len(raw)] = value
    try:
        parsed = parse_email(bytes(raw))
    except ParseError as error:
        assert error.reason
    else:
        assert isinstance(parsed.extracted_text, str)


@FUZZ
@given(st.text(max_size=2000))
def test_text_helpers_never_raise(text):
    assert isinstance(extract_new_text(text), str)
    assert isinstance(normalize_subject(text), str)
    assert isinstance(parse_address_list(text), list)


def test_a_flood_of_rfc2231_parameter_continuations_is_refused_before_the_slow_parse():
    segments = "".join(f";\r\n filename*{i}*=a%C3%BC" for i in range(5000))
    raw = (
        b"From: a@example.org\r\nTo: b@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: application/octet-stream"
        + segments.encode() + b"\r\n\r\nAAAA\r\n--z--\r\n"
    )
    with pytest.raises(ParseError) as caught:
        parse_email(raw)
    assert caught.value.reason == "too_many_headers"


def test_a_filename_in_a_few_rfc2231_continuations_still_parses():
    raw = (
        b"From: a@example.org\r\nTo: b@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b"--z\r\nContent-Type: application/octet-stream;\r\n name*0*=utf-8''r%C3%A9;\r\n name*1*=sum%C3%A9.pdf\r\n"
        b"Content-Disposition: attachment;\r\n filename*0*=utf-8''r%C3%A9;\r\n filename*1*=sum%C3%A9.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--z--\r\n"
    )
    parsed = parse_email(raw)
    assert [attachment.filename for attachment in parsed.attachments] == ["résumé.pdf"]
