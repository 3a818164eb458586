"""The newly written part of a reply: quoted history and the signature removed."""

from __future__ import annotations

import re

# Attribution lines, allowed to wrap once (Gmail wraps long names and addresses).
_ATTRIBUTION = re.compile(
    r"^[ \t]*(?=[^\n]*\d)(?:"  # clients always put a date in the first line
    r"On\b[^\n]{0,300}?(?:\n[^\n]{0,300}?)?\bwrote\s*:"
    r"|Le\b[^\n]{0,300}?(?:\n[^\n]{0,300}?)?\ba\s+écrit\s*:"
    r"|Am\b[^\n]{0,300}?(?:\n[^\n]{0,300}?)?\bschrieb\b[^\n]{0,300}?:"
    r"|El\b[^\n]{0,300}?(?:\n[^\n]{0,300}?)?\bescribió\s*:"
    r"|Op\b[^\n]{0,300}?(?:\n[^\n]{0,300}?)?\bschreef\b[^\n]{0,300}?:"
    r")[ \t]*$",
    re.MULTILINE,
)
# Separators before older messages, replied-to or forwarded (Outlook, Gmail, Thunderbird,
# Apple Mail and their translations).
_ORIGINAL_MESSAGE = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*(?:Original Message|Forwarded message|Ursprüngliche Nachricht"
    r"|Weitergeleitete Nachricht|Message d'origine|Message transféré|Mensaje original"
    r"|Mensaje reenviado|Oorspronkelijk bericht|Doorgestuurd bericht)[ \t]*-{2,}"
    r"|Begin forwarded message:)[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
# Outlook's header block: "From:" then "Sent:" (or a translation) within the next lines.
_OUTLOOK_HEADER = re.compile(
    r"^[ \t]*\*?(?:From|De|Von|Van|Da)[ \t]*:\*?[ \t]*\S[^\n]*\n"
    r"(?:[^\n]*\n){0,2}?"
    r"[ \t]*\*?(?:Sent|Date|Envoyé|Gesendet|Verzonden|Enviado|Inviato)[ \t]*:",
    re.MULTILINE | re.IGNORECASE,
)
_UNDERSCORE_RULE = re.compile(r"\n[ \t]*_{10,}[ \t]*\n?$")
_MOBILE_SIGNATURE = re.compile(
    r"\n\s*(?:Sent from my [^\n]{1,40}|Get Outlook for (?:iOS|Android)[^\n]{0,20})\s*$",
    re.IGNORECASE,
)


def extract_new_text(text: str) -> str:
    """The newly written part of a reply: quoted history and the signature removed."""
    if not isinstance(text, str):
        return ""
    original = text.replace("\r\n", "\n").replace("\r", "\n")
    body = original

    # Attribution lines followed by "> " quotes are removed alone, so text written below a
    # quote (bottom-posting, inline replies) survives; otherwise everything after them is
    # history.
    position = 0
    while (match := _ATTRIBUTION.search(body, position)) is not None:
        following = body[match.end() :].lstrip("\n")
        if following.startswith(">"):
            body = body[: match.start()] + body[match.end() :]
            position = match.start()
        else:
            body = body[: match.start()]
            break

    for pattern in (_ORIGINAL_MESSAGE, _OUTLOOK_HEADER):
        match = pattern.search(body)
        if match:
            body = body[: match.start()]
    body = _UNDERSCORE_RULE.sub("\n", body)

    lines = [line for line in body.split("\n") if not line.lstrip(" ").startswith(">")]
    signature_lines = [i for i, line in enumerate(lines) if line.rstrip() == "--"]
    if signature_lines:
        lines = lines[: signature_lines[-1]]
    body = "\n".join(lines)
    body = _MOBILE_SIGNATURE.sub("", "\n" + body)
    body = re.sub(r"\n{3,}", "\n\n", body).strip()
    return body or original.strip()
