"""Charsets: the declared one, its supersets, then UTF-8 and Windows-1252; never loses text."""

from __future__ import annotations

import codecs

# Labels that senders use for a superset, or that Python spells differently.
_CHARSET_ALIASES = {
    "iso-8859-8-i": "iso8859-8",
    "x-sjis": "shift_jis",
    "unicode-1-1-utf-7": "utf-7",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "cp-850": "cp850",
}
_SUPERSETS = {
    "iso8859-1": ("cp1252",),
    "ascii": ("cp1252",),
    "shift_jis": ("cp932",),
    "euc_jp": ("euc_jis_2004",),
    "iso2022_jp": ("iso2022_jp_ext", "iso2022_jp_2"),
    "gb2312": ("gbk", "gb18030"),
    "gbk": ("gb18030",),
    "euc_kr": ("cp949",),
    "big5": ("big5hkscs",),
    "iso8859-9": ("cp1254",),
    "tis-620": ("cp874",),
}
# Labels that are very often wrong in practice: text labelled with them is frequently UTF-8.
_OFTEN_MISLABELLED = {"ascii", "iso8859-1", "cp1252", "iso8859-15"}
# Text codecs that would interpret content rather than decode it.
_UNSAFE_CODECS = {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"}


def _lookup_codec(charset: str | None) -> str | None:
    if not charset:
        return None
    label = charset.strip().strip("\"'").split("*", 1)[0].lower()
    if not label or len(label) > 40:
        return None
    label = _CHARSET_ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _UNSAFE_CODECS:
        return None
    return info.name


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Declared charset, then its supersets, then UTF-8 and Windows-1252; never loses text."""
    codec = _lookup_codec(charset)
    if codec is None or codec in ("ascii", "utf-8"):
        # No trustworthy label: UTF-8 where the bytes are UTF-8, Windows-1252 for stray bytes
        # (headers and bodies mixing both are common from old gateways).
        return data.decode("utf-8", _MIXED_FALLBACK)
    candidates = [codec, *_SUPERSETS.get(codec, ()), "utf-8"]
    if codec in _OFTEN_MISLABELLED and not data.isascii():
        candidates.insert(0, "utf-8")
    for candidate in dict.fromkeys(candidates):
        try:
            return data.decode(candidate)
        except (UnicodeError, LookupError):
            continue
    if codec in _OFTEN_MISLABELLED:
        return data.decode("utf-8", _MIXED_FALLBACK)
    # A real legacy charset with a few bad bytes: trust it rather than guess another.
    try:
        return data.decode(codec, "replace")
    except (UnicodeError, LookupError):
        return data.decode("utf-8", _MIXED_FALLBACK)


def _windows_1252_char(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)  # the five bytes Windows-1252 leaves undefined: read them as Latin-1


_WINDOWS_1252 = [_windows_1252_char(byte) for byte in range(256)]
_MIXED_FALLBACK = "sendook.windows-1252-fallback"


def _windows_1252_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start : error.end]
    return "".join(_WINDOWS_1252[byte] for byte in chunk), error.end


codecs.register_error(_MIXED_FALLBACK, _windows_1252_fallback)


def _clean_text(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return value.lstrip("\ufeff")
