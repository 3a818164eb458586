"""Threads: subjects, matching received mail to its conversation, thread summaries."""

import pytest

from messages.services.threads import normalize_subject


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Hello", "hello"),
        ("RE: re: Fwd: FW: Hello   world", "hello world"),
        ("Aw: Sv: Antw: WG: Angebot", "angebot"),
        ("Re[2]: Re(3): status", "status"),
        ("[dev] Re: build", "[dev] re: build"),
        ("Re:", ""),
        ("Regarding the plan", "regarding the plan"),
        ("  Fwd :  Spaced  ", "spaced"),
    ],
)
def test_normalize_subject_strips_reply_and_forward_prefixes(subject, expected):
    assert normalize_subject(subject) == expected
