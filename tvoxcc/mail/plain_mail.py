"""The common simple mail — one text/plain part, ASCII headers — read without the email package.

``email.message_from_bytes`` costs ~60 µs on a 600-byte mail, most of a mail's ingest time in
Python. For a mail whose shape leaves no room for interpretation, the headers and body are
taken here exactly as the email package's compat32 parser would hand them over (the same
header values with their folds, the same content type, charset and body bytes). Anything else
— MIME multipart, transfer encodings, 8-bit or malformed headers, attachments — returns None,
and the full parser takes the mail. ``tests/test_mail_plain.py`` checks both agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A header line as email.feedparser recognises one, with a non-empty name (an empty one is a defect).
_FIELD = re.compile(r"[\x21-\x39\x3b-\x7e]+:")
# Content-Type parameters with plain values: no RFC 2231 continuations, no escapes inside quotes, no <...>
# (which the email package also unquotes).
_PARAM = re.compile(r'\s*([!#$%&\'+\-.0-9A-Z^_`a-z|~]+)\s*=\s*(?:"([^"\\<>]*)"|([!#$%&\'+\-.0-9A-Z^_`a-z|~]*))\s*')
_PLAIN_ENCODINGS = ("", "7bit", "8bit", "binary")


@dataclass(frozen=True)
class PlainMail:
    headers: dict[str, list[str]]  # lower-cased name -> values in order, as compat32 returns them
    charset: str | None  # as Message.get_content_charset() gives it
    body: bytes


def _fields(head: str, newline: str) -> dict[str, list[str]] | None:
    fields: dict[str, list[str]] = {}
    name: str | None = None
    value: list[str] = []

    def flush() -> None:
        if name is not None:
            # compat32: the first line's value left-stripped, continuation lines kept, line ends dropped.
            fields.setdefault(name.lower(), []).append("".join(value).rstrip("\r\n"))

    for line in head.split(newline):
        line += newline
        if line[0] in " \t":
            if name is None:
                return None  # a continuation with nothing to continue: a defect, let the full parser judge
            value.append(line)
            continue
        if line.startswith("From ") or not _FIELD.match(line):
            return None
        flush()
        colon = line.index(":")
        name, value = line[:colon], [line[colon + 1 :].lstrip(" \t")]
    flush()
    return fields


def _charset(content_type: str) -> tuple[str, str | None] | None:
    """(type, charset) of a Content-Type with only simple parameters; None for anything fancier."""
    kind, _, params = content_type.partition(";")
    charset: str | None = None
    for param in params.split(";") if params else ():
        found = _PARAM.fullmatch(param)
        if found is None:
            return None
        if found[1].lower() == "charset" and charset is None:
            charset = (found[2] if found[2] is not None else found[3]).lower()
    return kind.strip().lower(), charset


def read_plain_mail(raw: bytes) -> PlainMail | None:
    """The headers, charset and body of a simple single-part text/plain mail; None for any other mail."""
    for separator, newline in ((b"\r\n\r\n", b"\r\n"), (b"\n\n", b"\n")):
        end = raw.find(separator)
        if end <= 0:
            continue
        head = raw[:end]
        if newline == b"\r\n":
            if head.count(b"\r") != head.count(b"\r\n") or head.count(b"\n") != head.count(b"\r\n"):
                return None
        elif b"\r" in head:
            return None
        break
    else:
        return None
    if not head.isascii():
        return None  # 8-bit header bytes become Header objects in the email package
    fields = _fields(head.decode("ascii"), newline.decode("ascii"))
    if fields is None:
        return None
    if "content-disposition" in fields:
        return None  # possibly an attachment-only mail
    encoding = fields.get("content-transfer-encoding", [""])[0].lower()
    if encoding not in _PLAIN_ENCODINGS:
        return None
    content_type = fields.get("content-type")
    charset: str | None = None
    if content_type is not None:
        typed = _charset(content_type[0])
        if typed is None or typed[0] != "text/plain":
            return None
        charset = typed[1]
    return PlainMail(fields, charset, raw[end + len(separator) :])
