"""Raw RFC 5322 bytes to a ParsedMail: pure, never raises on hostile input, every string bounded."""

from __future__ import annotations

import email
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr

from tvoxcc.mail.html_text import html_to_text
from tvoxcc.mail.noise import noise_reason

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_BODY_CHARS = 200_000
_MSGID = re.compile(r"<[^<>\s]{1,490}>")


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None  # set for inline images (cid: references in the HTML)


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # the mail's own, or a stable one derived from its bytes when it has none
    in_reply_to: str | None
    references: list[str]
    subject: str
    sender: str  # case-folded address, "" when there is none
    sender_name: str
    to: list[str]
    body_text: str
    attachments: list[ParsedAttachment] = field(default_factory=list)
    rejection: str | None = None  # why no ticket may come of it (noise, no sender…)


def clean(text: str, limit: int) -> str:
    """Bounded, NUL-free text (PostgreSQL refuses NUL; column sizes are enforced there)."""
    return text.replace("\x00", "")[:limit]


def decode_words(value: object) -> str:
    """An RFC 2047 header in any charset to text; unknown charsets and broken words degrade, never raise."""
    if value is None:
        return ""
    raw = str(value)
    if "=?" not in raw:
        return raw  # no encoded word: what decode_header/make_header would give back, without their cost
    try:
        return str(make_header(decode_header(raw)))
    except Exception:
        parts: list[str] = []
        try:
            for chunk, charset in decode_header(raw):
                if isinstance(chunk, bytes):
                    parts.append(_decode_bytes(chunk, charset))
                else:
                    parts.append(chunk)
            return "".join(parts)
        except Exception:
            return raw


def _decode_bytes(data: bytes, charset: str | None) -> str:
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")  # never fails: every byte maps to a character


def message_ids(value: object) -> list[str]:
    return _MSGID.findall(decode_words(value))


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return _decode_bytes(payload, part.get_content_charset())


def _body(msg: Message) -> str:
    """text/plain preferred anywhere in the tree; else the first text/html, sanitised."""
    plain: str | None = None
    html: str | None = None
    for part in msg.walk():
        if part.is_multipart() or _is_attachment(part):
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = _part_text(part)
        elif ctype == "text/html" and html is None:
            html = _part_text(part)
    if plain is not None and plain.strip():
        return plain.strip()
    if html is not None:
        return html_to_text(html)
    return (plain or "").strip()


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("Content-Disposition", "") or "").split(";", 1)[0].strip().lower()
    if disposition == "attachment":
        return True
    maintype = part.get_content_maintype()
    if maintype == "text":  # inline text is the body, named or not (and reading the name costs)
        return False
    return maintype in ("image", "audio", "video", "application") or bool(part.get_filename())


def _attachments(msg: Message, limit: int) -> tuple[list[ParsedAttachment], list[str]]:
    found: list[ParsedAttachment] = []
    dropped: list[str] = []
    for index, part in enumerate(msg.walk()):
        if part.is_multipart() or not _is_attachment(part):
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        name = clean(decode_words(part.get_filename() or f"part-{index}"), 255) or f"part-{index}"
        if len(data) > limit:
            dropped.append(f"[attachment {name!r} ({len(data)} bytes) not stored: over the {limit} byte limit]")
            continue
        cid = str(part.get("Content-ID", "") or "").strip().strip("<>") or None
        found.append(ParsedAttachment(name, clean(part.get_content_type(), 127), data, cid and clean(cid, 255)))
    return found, dropped


def parse_mail(raw: bytes, *, max_attachment_bytes: int = MAX_ATTACHMENT_BYTES) -> ParsedMail:
    """Any mail, through the email package (MIME trees, transfer encodings, 8-bit headers, attachments)."""
    msg = email.message_from_bytes(raw)
    try:
        body = _body(msg)
        attachments, dropped = _attachments(msg, max_attachment_bytes)
    except Exception as exc:  # a structure email cannot walk: keep the mail, say what broke
        body, attachments, dropped = "", [], [f"[body unreadable: {type(exc).__name__}]"]
    body = "\n\n".join([body, *dropped]) if dropped else body
    return _parsed(raw, msg.get, msg.get_all("To", []), msg.get_content_type(), body, attachments)


def _parsed(
    raw: bytes,
    header: Callable[[str], object],
    to: Sequence[object],
    content_type: str,
    body: str,
    attachments: list[ParsedAttachment] | None = None,
) -> ParsedMail:
    """The mail from its headers (the first value of each, as the email package's compat32 gives it) and body."""
    # Split the address before decoding: a decoded display name may hold commas or angle brackets.
    raw_name, sender = parseaddr(str(header("From") or ""))
    sender_name = decode_words(raw_name)
    sender = clean(sender.strip().casefold(), 254)
    if "@" not in sender:
        sender = ""
    own_ids = message_ids(header("Message-ID"))
    message_id = own_ids[0] if own_ids else f"<sha256.{hashlib.sha256(raw).hexdigest()}@tvoxcc.invalid>"
    reply_ids = message_ids(header("In-Reply-To"))
    rejection = noise_reason(header, content_type, sender) or (None if sender else "no sender address")
    return ParsedMail(
        message_id=clean(message_id, 500),
        in_reply_to=clean(reply_ids[0], 500) if reply_ids else None,
        references=[clean(i, 500) for i in message_ids(header("References"))][-50:],
        subject=clean(" ".join(decode_words(header("Subject") or "").split()), 500),
        sender=sender,
        sender_name=clean(sender_name.strip(), 200),
        to=[clean(a.casefold(), 254) for _, a in getaddresses([decode_words(v) for v in to]) if a],
        body_text=clean(body, MAX_BODY_CHARS),
        attachments=attachments or [],
        rejection=rejection,
    )
