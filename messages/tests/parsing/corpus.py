"""The .eml corpus and helpers the parsing tests share."""

from __future__ import annotations

import base64
from pathlib import Path

from hypothesis import HealthCheck, settings

from messages.parsing import parse_email

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eml"
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
