# ruff: noqa: RUF001  (the fixtures are about non-ASCII text on purpose)
"""Charsets: declared, mislabelled, unknown and raw 8-bit text all decode without loss. Pure Python, no database."""

from __future__ import annotations

from messages.tests.parsing.corpus import (
    parse_fixture,
)

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
