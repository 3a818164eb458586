# ruff: noqa: RUF001  (the fixtures are about non-ASCII text on purpose)
"""Quoted-reply stripping: replies from the common clients, and extract_new_text on its own. Pure Python, no database."""

from __future__ import annotations

from datetime import UTC, datetime

from messages.parsing import (
    Address,
    extract_new_text,
)
from messages.services.threads import normalize_subject
from messages.tests.parsing.corpus import (
    parse_fixture,
)

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
