"""Hard limits, and the cheap checks on the raw bytes that enforce them before the expensive
parse: the standard library's cost grows badly with the number of parts and the nesting depth,
and it cannot be interrupted, so bombs are refused before it sees them."""

from __future__ import annotations

import heapq
import re
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class ParseLimits:
    max_bytes: int = 25 * 1024 * 1024
    max_parts: int = 500
    max_depth: int = 20
    max_headers: int = 1000
    max_header_length: int = 64 * 1024
    max_seconds: float = 10.0


DEFAULT_LIMITS = ParseLimits()


class ParseError(Exception):
    """The message cannot be parsed within our limits; `reason` is stable snake_case."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class _Budget:
    """Wall-clock budget checked at checkpoints; the parser itself cannot be interrupted."""

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise ParseError(
                "timeout", f"Parsing took longer than {self.limits.max_seconds:g} seconds"
            )


# Mirrors the standard library's idea of a header line, so we measure the block it parses.
_HEADER_LINE = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:")
_LOGICAL_LINE_START = re.compile(rb"\n(?![ \t])")
_BOUNDARY_PARAM = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))')
_ANY_DELIMITER_LINE = re.compile(rb"\n--([^\r\n]{1,200})")
# Above this many distinct boundaries a delimiter regex of alternatives gets slow to match.
_MAX_BOUNDARY_ALTERNATIVES = 64


# The standard library walks multipart bodies line by line in Python, at a few microseconds a
# line, and cannot be interrupted. Real mail stays far below this rate times the budget (25 MiB
# of base64 is about 350,000 lines); floods of tiny lines are refused before parsing instead
# of overshooting the budget.
_LINES_PER_SECOND = 500_000


# RFC 2231 parameter continuations (`filename*0*=…; filename*1*=…`): the standard library
# reassembles them in quadratic time without any checkpoint (found by reliability/mime_bombs.py:
# 100,000 segments held a worker for minutes). Real mail uses a handful per parameter.
_PARAMETER_SEGMENT = re.compile(rb";\s*[!#$%&'+.0-9A-Z^_`a-z|~-]+\*\d+\*?\s*=")


def _check_parameter_continuations(raw: bytes, limits: ParseLimits) -> None:
    allowed = limits.max_headers
    for count, _ in enumerate(_PARAMETER_SEGMENT.finditer(raw), start=1):
        if count > allowed:
            raise ParseError(
                "too_many_headers",
                f"The message has more than {allowed} MIME parameter continuations",
            )


def _check_line_count(raw: bytes, limits: ParseLimits) -> None:
    if raw.count(b"\n") > limits.max_seconds * _LINES_PER_SECOND:
        raise ParseError(
            "timeout",
            f"The message has too many lines to parse within {limits.max_seconds:g} seconds",
        )


def _check_top_headers(raw: bytes, limits: ParseLimits) -> None:
    # Jump from one logical line to the next (continuations are skipped inside the regex), so
    # the Python loop runs at most max_headers times whatever the bytes are.
    if not _HEADER_LINE.match(raw):
        return
    count = 0
    start = 0
    for match in _LOGICAL_LINE_START.finditer(raw):
        _check_header_size(match.start() - start, count := count + 1, limits)
        start = match.end()
        if not _HEADER_LINE.match(raw, start):
            return  # the blank line (or the first body line) ends the header block
    _check_header_size(len(raw) - start, count + 1, limits)


def _check_header_size(length: int, count: int, limits: ParseLimits) -> None:
    if count > limits.max_headers:
        raise ParseError(
            "too_many_headers", f"The message has more than {limits.max_headers} headers"
        )
    if length > limits.max_header_length:
        raise ParseError(
            "header_too_long",
            f"A header is {length} bytes long; the limit is {limits.max_header_length}",
        )


def _check_structure(raw: bytes, limits: ParseLimits, budget: _Budget) -> None:
    """Estimate part count and multipart depth from boundary lines, without parsing.

    The standard library needs seconds for a few thousand parts and recurses once per level,
    so bombs must be refused before it sees them. We replay boundary declarations and
    delimiter lines in order with a stack, which is what the parser would do, give or take
    boundaries quoted inside text parts (harmless: they only make the estimate larger).
    """
    if b"\n--" not in raw:
        return
    # Each declaration or delimiter line is at least one part; far more than the part limit
    # means a bomb, and stopping there bounds the Python loops below.
    max_events = 4 * limits.max_parts + 100
    declarations: list[tuple[int, int, bytes]] = []
    for match in _BOUNDARY_PARAM.finditer(raw.lower()):
        group = 1 if match.group(1) else 2
        declarations.append((match.start(), 0, raw[match.start(group) : match.end(group)]))
        if len(declarations) > max_events:
            raise ParseError(
                "too_many_parts", f"The message has more than {limits.max_parts} parts"
            )
    declared_anywhere = {token for _, _, token in declarations}
    if not declared_anywhere:
        return
    budget.check()
    if len(declared_anywhere) <= _MAX_BOUNDARY_ALTERNATIVES:
        # Let the regex engine skip lines that merely start with "--" (signatures, SQL).
        alternatives = b"|".join(
            re.escape(token) for token in sorted(declared_anywhere, key=len, reverse=True)
        )
        pattern = re.compile(rb"\n--((?:" + alternatives + rb")(?:--)?)[ \t]*(?=\r?\n|\r?\Z)")
    else:
        pattern = _ANY_DELIMITER_LINE
    delimiters = ((m.start(), 1, m.group(1).rstrip(b" \t")) for m in pattern.finditer(raw))

    declared: set[bytes] = set()
    stack: list[bytes] = []
    parts = 1
    for index, (_, kind, token) in enumerate(heapq.merge(declarations, delimiters)):
        if index % 1024 == 0:
            budget.check()
        if index > 2 * max_events:
            raise ParseError(
                "too_many_parts", f"The message has more than {limits.max_parts} parts"
            )
        if kind == 0:
            declared.add(token)
            continue
        if token in declared:
            if token in stack:
                del stack[stack.index(token) + 1 :]
            else:
                stack.append(token)
            parts += 1
        elif token.endswith(b"--") and token[:-2] in declared:
            closing = token[:-2]
            if closing in stack:
                del stack[stack.index(closing) :]
            continue
        else:
            continue
        # Depth first: a deep bomb also has many parts, and depth is the better explanation.
        if len(stack) > limits.max_depth:
            raise ParseError("too_deep", f"The message nests deeper than {limits.max_depth} levels")
        if parts > limits.max_parts:
            raise ParseError(
                "too_many_parts", f"The message has more than {limits.max_parts} parts"
            )
