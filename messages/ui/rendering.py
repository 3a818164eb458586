"""How the staff UI shows a message body without letting it act.

HTML mail is cleaned with nh3 (no scripts, event handlers, forms, `javascript:` links, style
sheets or dangerous CSS properties), then placed in an iframe `srcdoc` that the template sandboxes
(no `allow-scripts`, no `allow-same-origin`) and that carries its own restrictive CSP. Images may
only come from our own origin (`cid:` parts rewritten to signed attachment URLs) or `data:`;
remote images are dropped until the reader asks for them. Plain text is shown as text, with the
quoted history folded away.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "code", "col", "colgroup", "dd",
    "del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span", "strike", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"style", "title", "dir", "lang", "align", "valign"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "font": {"color", "face", "size"},
    "table": {"width", "border", "cellpadding", "cellspacing", "bgcolor"},
    "td": {"width", "colspan", "rowspan", "bgcolor", "nowrap"},
    "th": {"width", "colspan", "rowspan", "bgcolor"},
    "col": {"span", "width"},
    "ol": {"start", "type"},
}
# Layout and typography only: nothing that can load a URL (background-image, list-style-image,
# content, cursor, …) or escape the frame visually (position).
ALLOWED_STYLE_PROPERTIES = {
    "color", "background-color", "font", "font-family", "font-size", "font-style",
    "font-weight", "line-height", "text-align", "text-decoration", "text-transform",
    "vertical-align", "white-space", "letter-spacing", "margin", "margin-top", "margin-right",
    "margin-bottom", "margin-left", "padding", "padding-top", "padding-right",
    "padding-bottom", "padding-left", "border", "border-top", "border-right", "border-bottom",
    "border-left", "border-color", "border-style", "border-width", "border-collapse",
    "border-spacing", "border-radius", "width", "height", "max-width", "min-width",
    "display", "table-layout",
}  # fmt: skip
SAFE_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,", re.IGNORECASE)
LINK_SCHEMES = ("http://", "https://", "mailto:")

FRAME_STYLE = (
    "body{margin:0;padding:8px;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
    "color:#1a1a1a;word-wrap:break-word;overflow-wrap:anywhere}img{max-width:100%;height:auto}"
    "table{max-width:100%}pre{white-space:pre-wrap}"
)


@dataclass
class RenderedHtml:
    srcdoc: str
    blocked_images: int


def frame_csp(origin: str, *, remote_images: bool) -> str:
    images = f"{origin} data:" + (" https: http:" if remote_images else "")
    return (
        f"default-src 'none'; img-src {images}; style-src 'unsafe-inline'; "
        "font-src 'none'; form-action 'none'; base-uri 'none'"
    )


def sanitize_html(
    html: str, *, resolve_cid: Callable[[str], str | None], remote_images: bool
) -> tuple[str, int]:
    """The cleaned HTML and how many remote images were left out."""
    blocked = 0

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        lowered = value.strip().lower()
        if tag == "img" and attribute == "src":
            if lowered.startswith("cid:"):
                return resolve_cid(value.strip()[4:].strip("<>"))
            if SAFE_DATA_IMAGE.match(lowered):
                return value
            if lowered.startswith(("http://", "https://")):
                if remote_images:
                    return value
                blocked += 1
            return None
        if tag == "a" and attribute == "href":
            return value if lowered.startswith(LINK_SCHEMES) else None
        return value

    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "title", "head", "noscript", "template"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes={"http", "https", "mailto", "cid", "data"},
        url_relative="deny",
        filter_style_properties=ALLOWED_STYLE_PROPERTIES,
        set_tag_attribute_values={"a": {"target": "_blank"}},
        link_rel="noopener noreferrer",
    )
    return cleaned, blocked


def render_html(
    html: str, *, origin: str, resolve_cid: Callable[[str], str | None], remote_images: bool
) -> RenderedHtml:
    """A complete document for an iframe's srcdoc (the template escapes it into the attribute)."""
    body, blocked = sanitize_html(html, resolve_cid=resolve_cid, remote_images=remote_images)
    csp = escape(frame_csp(origin, remote_images=remote_images))
    document = (
        '<!doctype html><html><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="referrer" content="no-referrer">'
        f"<style>{FRAME_STYLE}</style></head><body>{body}</body></html>"
    )
    return RenderedHtml(srcdoc=document, blocked_images=blocked)


# Where a client puts the history below a reply. Each rule needs more than one line of
# evidence, so a body line such as "From: the team" is never taken for quoted mail.
_ATTRIBUTION = re.compile(
    r"^(On\s.+\swrote|Le\s.+\sa écrit\s?|Am\s.+\sschrieb.*|El\s.+\sescribió)\s?:$", re.IGNORECASE
)
# Separators that only a mail client writes: whatever follows is the earlier message.
_SEPARATOR = re.compile(
    r"^(-{2,}\s*Original Message\s*-{2,}|-{2,}\s*Forwarded message\s*-{2,}|"
    r"Begin forwarded message:)$",
    re.IGNORECASE,
)
# A line that only draws a rule (Outlook writes 32 underscores above its header block).
_RULE = re.compile(r"^(_{10,}|-{10,})$")
_HEADER_LINE = re.compile(
    r"^(?P<name>From|Von|De|Sent|Date|Datum|Gesendet|Envoyé|Enviado|To|An|À|Para|Cc|"
    r"Subject|Betreff|Objet|Asunto|Reply-To):\s*\S",
    re.IGNORECASE,
)
_HEADER_KIND = {
    "from": "from", "von": "from", "de": "from",
    "sent": "date", "date": "date", "datum": "date", "gesendet": "date", "envoyé": "date",
    "enviado": "date",
    "to": "to", "an": "to", "à": "to", "para": "to",
    "subject": "subject", "betreff": "subject", "objet": "subject", "asunto": "subject",
}  # fmt: skip


def _header_block(lines: list[str], index: int) -> set[str]:
    """The kinds of header (from, date, to, subject) in the run of header lines at `index`,
    or nothing if that run does not start with From."""
    kinds: list[str] = []
    for line in lines[index:]:
        match = _HEADER_LINE.match(line.strip())
        if match is None:
            break
        kinds.append(_HEADER_KIND.get(match.group("name").lower(), "other"))
    return set(kinds) if kinds and kinds[0] == "from" and len(kinds) >= 3 else set()


def _next_text(lines: list[str], index: int) -> str:
    """The first non-blank line from `index` on, stripped ("" if none)."""
    return next((line.strip() for line in lines[index:] if line.strip()), "")


def _history_start(lines: list[str]) -> int | None:
    stripped = [line.strip() for line in lines]
    for index, line in enumerate(stripped):
        if not line:
            continue
        # "On … wrote:" (on one line or wrapped onto two) followed by ">" lines.
        for width in (1, 2):
            attribution = " ".join(stripped[index : index + width])
            if _ATTRIBUTION.match(attribution) and _next_text(lines, index + width).startswith(">"):
                return index
        # "-----Original Message-----", "---------- Forwarded message ---------".
        if _SEPARATOR.match(line):
            return index
        # Outlook: a rule, then From / Sent / To / Subject lines.
        if _RULE.match(line):
            after = index + 1
            while after < len(lines) and not stripped[after]:
                after += 1
            kinds = _header_block(lines, after)
            if "date" in kinds and kinds & {"to", "subject"}:
                return index
        # The same block without a rule, after a blank line: only with all four headers.
        if (index == 0 or not stripped[index - 1]) and {"from", "date", "to", "subject"} <= (
            _header_block(lines, index)
        ):
            return index
        # A trailing block of ">" lines.
        if line.startswith(">") and all(
            other.startswith(">") for other in stripped[index:] if other
        ):
            return index
    return None


def split_quoted(text: str) -> tuple[str, str]:
    """(the new part, the quoted history). History is folded only where a mail client clearly
    marks it: an attribution ("On … wrote:") followed by ">" lines, a client's separator
    ("-----Original Message-----"), an Outlook header block (From/Sent/To/Subject), or ">"
    lines that last until the end. Nothing is folded if no new text would remain above it."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = _history_start(lines)
    if start is None:
        return text.rstrip(), ""
    new = "\n".join(lines[:start]).rstrip()
    if not new.strip():
        return text.rstrip(), ""
    return new, "\n".join(lines[start:]).strip("\n")


def highlight(text: str, words: Iterable[str]) -> SafeString:
    """`text` escaped, with each occurrence of `words` (case-insensitive) in <mark>."""
    words = sorted({w for w in words if w}, key=len, reverse=True)
    if not words:
        return mark_safe(escape(text))  # noqa: S308 - escaped
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    parts: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        parts.append(escape(text[last : match.start()]))
        parts.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped


def snippet(text: str, words: Iterable[str], *, width: int = 160) -> str:
    """A window of `text` around the first matching word."""
    flat = " ".join(text.split())
    lowered = flat.lower()
    positions = [lowered.find(w.lower()) for w in words if w and w.lower() in lowered]
    start = max(0, min(positions) - width // 3) if positions else 0
    piece = flat[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")
