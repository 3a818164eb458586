"""Limits and hostile input: every failure is a ParseError with a stable reason. Pure Python, no database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages.parsing import (
    ParseError,
    ParseLimits,
    extract_new_text,
    parse_address_list,
    parse_email,
)
from messages.services.threads import normalize_subject
from messages.tests.parsing.corpus import (
    FIXTURE_NAMES,
    FUZZ,
    raw_fixture,
)

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
        + segments.encode()
        + b"\r\n\r\nAAAA\r\n--z--\r\n"
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
