"""Quoted history folding: only what a mail client clearly marked as the earlier message."""

import pytest

from messages.ui.rendering import split_quoted

GMAIL = """Sounds good, see you then.

On Mon, Jan 5, 2026 at 10:02 AM Bob Example <bob@example.com> wrote:
> Can we meet on Tuesday?
>
> Bob"""

GMAIL_WRAPPED = """Works for me.

On Mon, Jan 5, 2026 at 10:02 AM Robert Example-Longname <robert.longname@example.com>
wrote:

> Tuesday?"""

OUTLOOK = """Approved.

Dana

________________________________
From: Bob Example <bob@example.com>
Sent: Monday, January 5, 2026 10:02 AM
To: Dana <dana@example.com>
Subject: Budget

Please approve the budget."""

ORIGINAL_MESSAGE = """See below.

-----Original Message-----
From: Bob <bob@example.com>
Sent: Monday, January 5, 2026 10:02
To: Dana
Subject: hello

earlier text"""

HEADER_BLOCK_AFTER_BLANK_LINE = """Thanks!

From: Bob Example <bob@example.com>
Date: Monday, January 5, 2026 at 10:02
To: Dana <dana@example.com>
Subject: Re: Budget

earlier text"""

TRAILING_QUOTE = """I agree with the second point.

> first point
> second point"""


@pytest.mark.parametrize(
    ("body", "new", "history_starts"),
    [
        (GMAIL, "Sounds good, see you then.", "On Mon, Jan 5"),
        (GMAIL_WRAPPED, "Works for me.", "On Mon, Jan 5"),
        (OUTLOOK, "Approved.\n\nDana", "________"),
        (ORIGINAL_MESSAGE, "See below.", "-----Original Message-----"),
        (HEADER_BLOCK_AFTER_BLANK_LINE, "Thanks!", "From: Bob Example"),
        (TRAILING_QUOTE, "I agree with the second point.", "> first point"),
    ],
)
def test_quoted_history_marked_by_a_mail_client_is_folded(body, new, history_starts):
    text, quoted = split_quoted(body)
    assert text == new
    assert quoted.startswith(history_starts)
    assert quoted.rstrip().endswith(body.rstrip().splitlines()[-1])


@pytest.mark.parametrize(
    "body",
    [
        # A sign-off line that happens to start with "From:".
        "Hi Dana,\n\nthe new prices start on Monday.\nFrom: the team\n\nQuestions? Just reply.",
        # A pasted address block: one header line is not a quoted message.
        "Please ship to\nFrom: warehouse 4\nTo: Dock B\nand call before noon.",
        # "wrote:" in prose, no quoted lines after it.
        "Hi,\nOn Monday the auditor wrote:\nthe books are fine.\nRegards",
        # ">" used inside the text, more text after it.
        "Compare:\n> 5 units\n> 10 units\nThe second is cheaper.",
        # Dashes as a divider inside the text.
        "Agenda\n----------\n1. budget\n2. hiring",
    ],
)
def test_real_content_that_looks_like_a_header_stays_visible(body):
    assert split_quoted(body) == (body, "")


def test_a_message_that_is_only_a_forwarded_block_is_not_hidden():
    body = "---------- Forwarded message ---------\nFrom: Bob <bob@example.com>\n\nhello"
    assert split_quoted(body) == (body, "")
