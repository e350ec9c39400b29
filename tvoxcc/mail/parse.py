"""Raw RFC 5322 bytes to a ParsedMail: pure, never raises on hostile input, every string bounded."""

from __future__ import annotations

import email
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from email.policy import Compat32
from email.utils import getaddresses, parseaddr
from io import BytesIO

from tvoxcc.mail.attachments import blocked_reason, printable, safe_filename
from tvoxcc.mail.charsets import decode_8bit, decode_bytes, decode_words
from tvoxcc.mail.flags import MessageFlag
from tvoxcc.mail.html_text import html_to_text
from tvoxcc.mail.noise import noise_reason

__all__ = ["ParsedAttachment", "ParsedMail", "clean", "decode_words", "parse_mail"]

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_BODY_CHARS = 200_000
MAX_MIME_DEPTH = 20  # real mail nests a few levels (a forward of a forward); deeper parts are not read
# Past this many multipart boundaries and forwarded mails the email package's recursive parser spends seconds,
# then overflows the stack: such a mail is read as headers plus raw text.
MAX_NESTING = 200
_MSGID = re.compile(r"<[^<>\s]{1,490}>")
# An address we can answer: no spaces, brackets, quotes or separators (RFC 6532 lets it be non-ASCII).
_ADDR_SPEC = re.compile(r"[^\s<>()\[\],;:\"@\\]+@[^\s<>()\[\],;:\"@\\]+")


class _RawHeaders(Compat32):
    """compat32, but a header holding raw 8-bit bytes comes back as the string (with its surrogate escapes).

    compat32 would wrap it in a Header of charset unknown-8bit, whose text is U+FFFD for every byte;
    ``decode_8bit`` reads those bytes as the RFC 6532 UTF-8 they usually are.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _RawHeaders()


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str  # safe to show and to save: one path component, printable, bounded
    content_type: str
    data: bytes  # empty when blocked
    content_id: str | None = None  # set for inline images (cid: references in the HTML)
    size: int = -1  # the attachment's size as sent (-1: len(data))
    blocked: str | None = None  # why the bytes were not stored (an executable)

    @property
    def sent_size(self) -> int:
        return len(self.data) if self.size < 0 else self.size


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
    flags: frozenset[MessageFlag] = frozenset()
    loop_addresses: frozenset[str] = frozenset()  # the addresses its X-Loop headers name (case-folded)


def clean(text: str, limit: int) -> str:
    """Bounded, NUL-free text (PostgreSQL refuses NUL; column sizes are enforced there)."""
    return text.replace("\x00", "")[:limit]


def message_ids(value: object) -> list[str]:
    return _MSGID.findall(decode_words(value))


def _header_text(value: object) -> str | None:
    return None if value is None else decode_8bit(str(value))


class _Reader:
    """One walk over a parsed MIME tree: body text, attachments, and what had to be left out."""

    def __init__(self, max_attachment_bytes: int) -> None:
        self.limit = max_attachment_bytes
        self.flags: set[MessageFlag] = set()
        self.notes: list[str] = []
        self.attachments: list[ParsedAttachment] = []

    def parts(self, msg: Message) -> Iterator[tuple[Message, bool]]:
        """Every part, depth first in document order, down to MAX_MIME_DEPTH (iterative: no recursion), and
        whether it is inside a forwarded mail."""
        stack: list[tuple[Message, int, bool]] = [(msg, 0, False)]
        while stack:
            part, depth, forwarded = stack.pop()
            yield part, forwarded
            if not part.is_multipart():
                continue
            if depth >= MAX_MIME_DEPTH:
                self.flags.add(MessageFlag.MIME_TOO_DEEP)
                continue
            children = part.get_payload()
            inside = forwarded or part.get_content_type() == "message/rfc822"
            if isinstance(children, list):
                stack.extend((c, depth + 1, inside) for c in reversed(children) if isinstance(c, Message))

    def text(self, part: Message) -> str:
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return ""
        decoded = decode_bytes(payload, part.get_content_charset())
        if decoded.fallback:
            self.flags.add(MessageFlag.CHARSET_FALLBACK)
        return decoded.text

    def read(self, msg: Message) -> str:
        """The body: text/plain preferred anywhere in the tree, else the first text/html, sanitised."""
        plain: str | None = None
        html: str | None = None
        for index, (part, forwarded) in enumerate(self.parts(msg)):
            if part.get_content_type() == "message/rfc822":
                if not forwarded:  # a mail forwarded inside a forwarded mail is in that one's .eml already
                    self.attach_message(part, index)
                continue
            if part.is_multipart():
                continue
            if _is_attachment(part):
                self.attach(part, index)
                continue
            ctype = part.get_content_type()
            if ctype == "text/plain" and plain is None:
                plain = self.text(part)
            elif ctype == "text/html" and html is None:
                html = self.text(part)
        if plain is not None and plain.strip():
            return plain.strip()
        if html is not None:
            return html_to_text(html)
        return (plain or "").strip()

    def attach(self, part: Message, index: int) -> None:
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            self.keep(part, data, decode_words(part.get_filename() or ""), f"part-{index}")

    def attach_message(self, part: Message, index: int) -> None:
        """A forwarded mail is kept whole, as a .eml file (the files inside it are kept too)."""
        inner = part.get_payload()
        if not isinstance(inner, list) or not inner or not isinstance(inner[0], Message):
            return
        out = BytesIO()
        try:
            BytesGenerator(out, mangle_from_=False, policy=_POLICY).flatten(inner[0])
        except Exception:  # a forwarded mail too broken to write out again: its parts are still read
            return
        subject = " ".join(decode_words(inner[0].get("Subject") or "").split())[:80]
        name = decode_words(part.get_filename() or "") or (f"{subject}.eml" if subject else "")
        self.keep(part, out.getvalue(), name, f"message-{index}.eml")

    def keep(self, part: Message, data: bytes, name: str, fallback: str) -> None:
        filename = clean(safe_filename(name, fallback), 255)
        content_type = clean(part.get_content_type(), 127)
        if len(data) > self.limit:
            self.flags.add(MessageFlag.ATTACHMENT_TOO_LARGE)
            self.notes.append(
                f"[attachment {filename!r} ({len(data)} bytes) not stored: over the {self.limit} byte limit]"
            )
            return
        blocked = blocked_reason(filename, content_type, data)
        if blocked is not None:
            self.flags.add(MessageFlag.ATTACHMENT_BLOCKED)
            self.attachments.append(ParsedAttachment(filename, content_type, b"", None, len(data), blocked))
            return
        cid = str(part.get("Content-ID", "") or "").strip().strip("<>") or None
        self.attachments.append(ParsedAttachment(filename, content_type, data, cid and clean(cid, 255)))


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("Content-Disposition", "") or "").split(";", 1)[0].strip().lower()
    if disposition == "attachment":
        return True
    maintype = part.get_content_maintype()
    if maintype == "text":  # inline text is the body, named or not (and reading the name costs)
        return False
    return maintype in ("image", "audio", "video", "application") or bool(part.get_filename())


def parse_mail(raw: bytes, *, max_attachment_bytes: int = MAX_ATTACHMENT_BYTES) -> ParsedMail:
    """Any mail, through the email package (MIME trees, transfer encodings, 8-bit headers, attachments)."""
    reader = _Reader(max_attachment_bytes)
    msg = _full_parse(raw)
    if msg is None:
        msg = BytesParser(policy=_POLICY).parsebytes(raw, headersonly=True)
        reader.flags.add(MessageFlag.MIME_TOO_DEEP)
        payload = msg.get_payload()
        body = decode_8bit(payload if isinstance(payload, str) else "")
    else:
        try:
            body = reader.read(msg)
        except Exception as exc:  # a structure email cannot walk: keep the mail, say what broke
            reader.flags.add(MessageFlag.BODY_UNREADABLE)
            body, reader.attachments = "", []
            reader.notes.append(f"[body unreadable: {type(exc).__name__}]")
    body = "\n\n".join([body, *reader.notes]) if reader.notes else body
    header = msg.get
    return _parsed(
        raw,
        lambda name: _header_text(header(name)),
        msg.get_all("To", []),
        msg.get_all("X-Loop", []),
        msg.get_content_type(),
        body,
        reader.flags,
        reader.attachments,
    )


def _addresses(values: Sequence[object]) -> frozenset[str]:
    if not values:
        return frozenset()  # the common case, without the address parser's cost
    return frozenset(a.casefold() for _, a in getaddresses([decode_words(v) for v in values]) if "@" in a)


def _full_parse(raw: bytes) -> Message | None:
    """The whole MIME tree, or None when it nests too deep for the email package's recursive parser."""
    nesting = raw.count(b"oundary") + raw.count(b"OUNDARY") + raw.count(b"rfc822") + raw.count(b"RFC822")
    if nesting > MAX_NESTING:
        return None  # it would spend seconds, then overflow the stack
    try:
        return email.message_from_bytes(raw, policy=_POLICY)
    except RecursionError:
        return None


def _sender(value: str) -> tuple[str, str]:
    """(display name, address) of a From header; a name with an unquoted comma still yields its one address."""
    # Split the address before decoding: a decoded display name may hold commas or angle brackets.
    raw_name, address = parseaddr(value)
    if not _ADDR_SPEC.fullmatch(address):
        # `Kowalski, Jan <jan@example.com>`, `"Jan" jan@example.com`: one address written, the rest is its name.
        found = {a.casefold(): a for a in _ADDR_SPEC.findall(value)}
        address = next(iter(found.values())) if len(found) == 1 else ""
        raw_name = value.replace(f"<{address}>", " ").replace(address, " ").strip(" \t\"'<>,;") if address else ""
    return " ".join(printable(decode_words(raw_name)).split()), address


def _parsed(
    raw: bytes,
    header: Callable[[str], object],
    to: Sequence[object],
    loops: Sequence[object],
    content_type: str,
    body: str,
    flags: set[MessageFlag],
    attachments: list[ParsedAttachment] | None = None,
) -> ParsedMail:
    """The mail from its headers (the first value of each, as the email package's compat32 gives it) and body."""
    sender_name, sender = _sender(str(header("From") or ""))
    sender = clean(sender.strip().casefold(), 254)
    if "@" not in sender:
        sender = ""
    own_ids = message_ids(header("Message-ID"))
    message_id = own_ids[0] if own_ids else f"<sha256.{hashlib.sha256(raw).hexdigest()}@tvoxcc.invalid>"
    reply_ids = message_ids(header("In-Reply-To"))
    rejection = noise_reason(header, content_type, sender) or (None if sender else "no sender address")
    if len(body) > MAX_BODY_CHARS:
        flags.add(MessageFlag.BODY_TRUNCATED)
    return ParsedMail(
        message_id=clean(message_id, 500),
        in_reply_to=clean(reply_ids[0], 500) if reply_ids else None,
        references=[clean(i, 500) for i in message_ids(header("References"))][-50:],
        subject=clean(" ".join(printable(decode_words(header("Subject") or "")).split()), 500),
        sender=sender,
        sender_name=clean(sender_name, 200),
        to=[clean(a.casefold(), 254) for _, a in getaddresses([decode_words(v) for v in to]) if a],
        body_text=clean(body, MAX_BODY_CHARS),
        attachments=attachments or [],
        rejection=rejection,
        flags=frozenset(flags),
        loop_addresses=_addresses(loops),
    )
