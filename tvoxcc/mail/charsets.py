"""Mail bytes and headers to text, the way browsers read charset labels (WHATWG Encoding), never raising.

Mail declares charsets loosely: Outlook labels windows-1252 text (€ 0x80, curly quotes 0x93/0x94)
``iso-8859-1``; Japanese mail says ``shift_jis`` and uses the Windows extensions (cp932); Korean mail
says ``ks_c_5601-1987``. Each label maps to the decoder a browser would use for it. When the bytes
do not fit the declared charset, valid UTF-8 wins, else the declared decoder with U+FFFD, and the
caller is told (a ``charset-fallback`` flag on the message).
"""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass
from email import base64mime, quoprimime


def _c1_for_undefined(exc: UnicodeError) -> tuple[str, int]:
    """windows-125x leave a few bytes undefined; WHATWG maps each to the C1 control of the same value."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("tvoxcc-c1", _c1_for_undefined)

_GROUPS: dict[str, tuple[str, ...]] = {
    # label group -> Python codecs tried in order (strictly); the first is also the U+FFFD fallback
    "windows-1252": ("utf-8", "cp1252"),  # UTF-8 mislabelled as latin-1 is common; real latin-1 is never valid UTF-8
    "windows-1254": ("cp1254",),
    "windows-874": ("cp874",),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "euc-jp": ("euc_jp", "euc_jis_2004"),
    "iso-2022-jp": ("iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_3"),
    "gbk": ("gb18030",),
    "big5": ("big5hkscs", "cp950"),
    "euc-kr": ("cp949",),
    "iso-8859-8": ("iso8859_8",),
    "utf-8": ("utf-8",),
    "macintosh": ("mac_roman",),
}
_LABELS: dict[str, str] = {
    label: group
    for group, labels in {
        "windows-1252": "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 "
        "iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252 us ascii7 646 iso646-us",
        "windows-1254": "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 iso_8859-9:1989 "
        "l5 latin5 windows-1254 x-cp1254",
        "windows-874": "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874 cp874",
        "shift_jis": "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis cp932 x-ms-cp932",
        "euc-jp": "cseucpkdfmtjapanese euc-jp x-euc-jp eucjp",
        "iso-2022-jp": "csiso2022jp iso-2022-jp iso2022jp",
        "gbk": "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk gb18030 euc-cn "
        "x-euc-cn cp936 windows-936",
        "big5": "big5 big5-hkscs cn-big5 csbig5 x-x-big5 cp950",
        "euc-kr": "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601 "
        "ksc_5601 windows-949 cp949 ks_c_5601",
        "iso-8859-8": "iso-8859-8-i csiso88598i logical iso-8859-8-e csiso88598e",
        "utf-8": "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8",
        "macintosh": "csmacintosh mac macintosh x-mac-roman",
    }.items()
    for label in labels.split()
}
# Python codecs that are not a charset a mail can be written in.
_NOT_CHARSETS = {"idna", "punycode", "raw_unicode_escape", "unicode_escape", "undefined", "mbcs", "oem"}  # as _names
_NO_LABEL = ("utf-8",)  # RFC 2045 says us-ascii; 8-bit text without a label is UTF-8 or a Windows code page
_ASCII_SAFE = {"utf-8", "cp1252", "cp1254", "cp874", "cp932", "euc_jp", "gb18030", "big5hkscs", "cp949"}


@dataclass(frozen=True)
class Decoded:
    text: str
    fallback: bool  # the bytes did not fit the declared charset (or it was unknown): the text is a best guess


@functools.lru_cache(maxsize=256)
def codecs_for(label: str | None) -> tuple[str, ...] | None:
    """The Python codecs for a charset label, tried in order; () without a label, None for an unknown one."""
    if label is None:
        return _NO_LABEL
    name = label.strip().strip("\"'").lower()
    group = _LABELS.get(name)
    if group is not None:
        return _GROUPS[group]
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name.replace("-", "_") in _NOT_CHARSETS:
        return None
    return (info.name,)


def _errors_for(codec: str) -> str:
    return "tvoxcc-c1" if codec.startswith("cp125") or codec == "cp874" else "strict"


def decode_bytes(data: bytes, label: str | None) -> Decoded:
    """Text in the declared charset as a browser reads it; a best guess, said so, when the bytes do not fit."""
    candidates = codecs_for(label)
    if data.isascii() and (candidates is None or candidates[0] in _ASCII_SAFE):
        return Decoded(data.decode("ascii"), False)  # the common case, and the same text in every such charset
    for codec in candidates or ():
        try:
            return Decoded(data.decode(codec, _errors_for(codec)), False)
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        return Decoded(data.decode("utf-8"), True)
    except UnicodeDecodeError:
        pass
    if candidates and label is not None:
        return Decoded(data.decode(candidates[0], "replace"), True)
    return Decoded(data.decode("cp1252", "tvoxcc-c1"), True)  # never fails: every byte maps to a character


def decode_8bit(value: str) -> str:
    """A header value holding raw 8-bit bytes (RFC 6532 UTF-8, or a legacy charset) as text.

    The email package keeps such bytes as surrogate escapes (U+DC80..U+DCFF); here they become UTF-8
    text when they are valid UTF-8, else windows-1252, never U+FFFD for a valid UTF-8 header.
    """
    if value.isascii():
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "tvoxcc-c1")


# RFC 2047 encoded word (charset may carry an RFC 2231 language: utf-8*en); lenient like the email package.
_ENCODED_WORD = re.compile(r"=\?([^?\s]*?)\?([qQbB])\?(.*?)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _word(charset: str, encoding: str, payload: str) -> str | None:
    try:
        if encoding in "bB":
            data = base64mime.decode(payload + "=" * (-len(payload) % 4))
            if not data and payload.strip("="):
                return None  # nothing but characters base64 does not have
        else:
            data = quoprimime.header_decode(payload).encode("latin-1")
    except Exception:
        return None  # broken: the word stays as it was written
    return decode_bytes(data, charset.split("*", 1)[0] or None).text


def decode_words(value: object) -> str:
    """A header in any charset (RFC 2047 encoded words, raw 8-bit) to text; broken words degrade, never raise."""
    if value is None:
        return ""
    raw = decode_8bit(str(value))
    if "=?" not in raw:
        return raw
    raw = _FOLD.sub("", raw)
    parts: list[str] = []
    last = 0
    after_word = False
    for match in _ENCODED_WORD.finditer(raw):
        between = raw[last : match.start()]
        decoded = _word(*match.groups())
        if decoded is None:
            parts.append(between + match.group(0))
            after_word = False
        else:
            if not (after_word and not between.strip()):  # whitespace between two encoded words is not text
                parts.append(between)
            parts.append(decoded)
            after_word = True
        last = match.end()
    parts.append(raw[last:])
    return "".join(parts)
