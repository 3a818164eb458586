"""A readable plain-text rendering of an HTML body, for mail that has no text part."""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser

_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "footer", "form",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
    "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
_SKIPPED_TAGS = {"head", "script", "style", "template", "title", "noscript"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._current: list[str] = []
        self._depth_at_start = 0
        self._quote_depth = 0
        self._skipping = 0

    def _break(self, *, hard: bool = False) -> None:
        if self._current or hard:
            depth = self._depth_at_start if self._current else self._quote_depth
            self.lines.append((depth, "".join(self._current).strip()))
        self._current = []

    def _paragraph(self) -> None:
        self._break()
        if self.lines and self.lines[-1][1]:
            self.lines.append((self._quote_depth, ""))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag == "br":
            self._break(hard=True)
        elif tag == "p":
            self._paragraph()
        elif tag in _BLOCK_TAGS:
            self._break()
            if tag == "blockquote":
                self._quote_depth += 1
            elif tag == "li":
                self._current.append("- ")
                self._depth_at_start = self._quote_depth

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._break(hard=True)
        elif tag in _BLOCK_TAGS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "p":
            self._paragraph()
        elif tag in _BLOCK_TAGS:
            self._break()
            if tag == "blockquote":
                self._quote_depth = max(0, self._quote_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        text = re.sub(r"\s+", " ", data)
        if not self._current:
            text = text.lstrip()
            if not text:
                return
            self._depth_at_start = self._quote_depth
        self._current.append(text)

    def text(self) -> str:
        self._break()
        output: list[str] = []
        for depth, line in self.lines:
            if not line and (not output or not output[-1].strip("> ")):
                continue  # collapse runs of blank lines
            # Blockquotes become "> " lines so reply extraction treats them as quoted history.
            output.append(("> " * depth + line).rstrip() if depth else line)
        return "\n".join(output).strip()


# HTMLParser costs roughly 15 µs per tag; past this many tags the crude stripper keeps the
# parse inside its time budget.
_MAX_PARSED_TAGS = 50_000
_CRUDE_BREAK = re.compile(r"<(?:br|/p|/div|/li|/tr|/h[1-6]|/blockquote)\b[^<>]*>", re.IGNORECASE)
_CRUDE_TAG = re.compile(r"<[^<>]*>")  # [^<>] keeps an unclosed "<" from going quadratic


def html_to_text(html: str) -> str:
    """A readable plain-text rendering of an HTML body, for mail that has no text part."""
    if html.count("<") > _MAX_PARSED_TAGS:
        return _crude_html_to_text(html)
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # HTMLParser on hostile input: the crude path still gets the words
        return _crude_html_to_text(html)
    return extractor.text()


def _crude_html_to_text(html: str) -> str:
    stripped = _CRUDE_TAG.sub("", _CRUDE_BREAK.sub("\n", html))
    lines = (" ".join(line.split()) for line in html_lib.unescape(stripped).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
