"""Headers: encoded words, addresses, dates, ids and verdicts. Pure Python, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from messages.parsing import (
    Address,
    parse_address_list,
)
from messages.tests.parsing.corpus import (
    parse_fixture,
)

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
