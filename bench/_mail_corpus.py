"""A mixed support-mailbox corpus for bench/mail.py, generated from a seed (same seed, same bytes).

Kinds, by share: plain ASCII text, multipart/alternative (text + HTML), HTML only, non-ASCII mails
(RFC 2047 encoded-word headers, iso-8859-1 / utf-8 bodies in quoted-printable or base64), small PDF /
PNG attachments, a few ~100 KB attachments, and replies that thread onto earlier tickets (References
naming the original plus the tagged subject, or the tagged subject alone). Every mail carries the
Received / Date / MIME headers a real one does. Replies name the ticket number the ingest gives the
original: new tickets are numbered from 1001 in mail order.
"""

from __future__ import annotations

import base64
import quopri
import random
from collections import Counter
from dataclasses import dataclass
from email.header import Header

ADDRESS = "support@bench.test"
FIRST_TICKET = 1001

# (kind, weight): replies need an earlier original, so the first mails are never replies.
KINDS = (
    ("plain text, ASCII", 30),
    ("multipart/alternative", 20),
    ("HTML only", 8),
    ("non-ASCII (RFC 2047, QP/base64)", 15),
    ("small PDF/PNG attachment", 8),
    ("~100 KB attachment", 1),
    ("reply (References + tag)", 14),
    ("reply (tag only)", 4),
)
REPLIES = ("reply (References + tag)", "reply (tag only)")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


WORDS = _words(
    "order invoice printer delivery refund account password login error screen update contract payment shipment "
    "warranty replacement broken missing please thanks urgent today yesterday again still cannot since the a my "
    "your our of to and with for on in is not it was"
)
ACCENTED = _words("caffè perché già città più però über müssen Größe señor año façade naïve €")
FIRST_NAMES = ("Anna", "Luca", "Marco", "Giulia", "Jürgen", "Zoë", "François", "Sørina", "Ivan", "Ana")
LAST_NAMES = ("Rossi", "Bianchi", "Müller", "Dubois", "Smith", "Ferrari", "Nuñez", "Østergaard")


@dataclass(frozen=True)
class Corpus:
    mails: list[bytes]
    kinds: list[str]
    originals: int  # mails that open a ticket
    replies: int  # mails that thread onto an earlier ticket

    def mix(self) -> str:
        counts = Counter(self.kinds)
        size = sum(map(len, self.mails))
        parts = ", ".join(f"{kind} {counts[kind] / len(self.kinds):.0%}" for kind, _ in KINDS)
        return f"corpus: {len(self.mails)} mails, {size / 1e6:.1f} MB: {parts}"


def _sentence(rng: random.Random, accented: bool = False) -> str:
    words = [rng.choice(ACCENTED if accented and rng.random() < 0.2 else WORDS) for _ in range(rng.randint(6, 16))]
    return " ".join(words).capitalize() + "."


def _text(rng: random.Random, accented: bool = False) -> str:
    lines = ["Hello,", ""] + [_sentence(rng, accented) for _ in range(rng.randint(2, 12))]
    return "\r\n".join([*lines, "", "Regards"]) + "\r\n"


def _html(text: str) -> str:
    paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\r\n") if line)
    return f'<html><head><style>p {{margin:0}}</style></head><body><div dir="ltr">{paragraphs}</div></body></html>\r\n'


def _qp(text: str, charset: str) -> bytes:
    return quopri.encodestring(text.encode(charset).replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _part(content_type: str, encoding: str, body: bytes, extra: str = "") -> bytes:
    head = f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n{extra}\r\n"
    return head.encode() + body


def _multipart(subtype: str, boundary: str, parts: list[bytes]) -> tuple[str, bytes]:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    return f'multipart/{subtype}; boundary="{boundary}"', body + b"--" + boundary.encode() + b"--\r\n"


def _attachment(rng: random.Random, size: int) -> bytes:
    kind = rng.choice(("pdf", "png", "jpg"))
    magic = {"pdf": b"%PDF-1.4\n", "png": b"\x89PNG\r\n\x1a\n", "jpg": b"\xff\xd8\xff\xe0"}[kind]
    mime = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg"}[kind]
    name = f"{rng.choice(('scan', 'invoice', 'screenshot', 'photo'))}-{rng.randrange(1000)}.{kind}"
    data = magic + rng.randbytes(size)
    disposition = f'Content-Disposition: attachment; filename="{name}"\r\n'
    return _part(f'{mime}; name="{name}"', "base64", _b64(data), disposition)


def _encoded(rng: random.Random, text: str) -> str:
    charset = rng.choice(("utf-8", "iso-8859-1"))
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        charset = "utf-8"
    return Header(text, charset).encode()


class _Writer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.customers = [
            (f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}", f"customer{i}@example{i % 7}.com")
            for i in range(300)
        ]
        self.originals: list[tuple[str, str, int]] = []  # (Message-ID, subject, ticket number)

    def mail(self, index: int, kind: str) -> bytes:
        rng = self.rng
        name, address = rng.choice(self.customers)
        message_id = f"<{index}.{rng.getrandbits(48):x}@mail.example.com>"
        subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))).capitalize()
        from_header = f"{name} <{address}>" if name.isascii() else f"{_encoded(rng, name)} <{address}>"
        threading = ""
        if kind in REPLIES:
            original, original_subject, number = rng.choice(self.originals)
            subject = f"Re: [#T-{number}] {original_subject}"
            if kind == "reply (References + tag)":  # In-Reply-To: our acknowledgement, whose id the customer got
                ack = f"<ack.{rng.getrandbits(64):x}@bench.test>"
                threading = f"In-Reply-To: {ack}\r\nReferences: {original}\r\n {ack}\r\n"
        else:
            self.originals.append((message_id, subject, FIRST_TICKET + len(self.originals)))
        content_type, body = self.body(kind)
        subject_header = subject
        if kind == "non-ASCII (RFC 2047, QP/base64)":
            subject_header = _encoded(rng, f"{subject} {rng.choice(ACCENTED)}")
        head = (
            f"Received: from mx{index % 5}.example.com (mx{index % 5}.example.com [192.0.2.{index % 250}])\r\n"
            f"\tby mail.bench.test with ESMTPS id {rng.getrandbits(40):x};"
            f" Sun, 6 Dec 2026 10:{index % 60:02d}:00 +0100\r\n"
            f"From: {from_header}\r\nTo: Support <{ADDRESS}>\r\nSubject: {subject_header}\r\n"
            f"Date: Sun, 6 Dec 2026 10:{index % 60:02d}:{index % 59:02d} +0100\r\nMessage-ID: {message_id}\r\n"
            f"{threading}MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n"
        )
        return head.encode() + body

    def body(self, kind: str) -> tuple[str, bytes]:
        """(Content-Type header value, the rest: remaining headers, blank line, body)."""
        rng = self.rng
        text = _text(rng, accented=kind == "non-ASCII (RFC 2047, QP/base64)")
        boundary = f"b_{rng.getrandbits(64):x}"
        if kind in ("plain text, ASCII", *REPLIES):
            return "text/plain; charset=us-ascii", b"Content-Transfer-Encoding: 7bit\r\n\r\n" + text.encode()
        if kind == "multipart/alternative":
            content_type, body = _multipart(
                "alternative",
                boundary,
                [
                    _part("text/plain; charset=utf-8", "quoted-printable", _qp(text, "utf-8")),
                    _part("text/html; charset=utf-8", "quoted-printable", _qp(_html(text), "utf-8")),
                ],
            )
            return content_type, b"\r\n" + body
        if kind == "HTML only":
            return "text/html; charset=utf-8", b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + _qp(
                _html(text), "utf-8"
            )
        if kind == "non-ASCII (RFC 2047, QP/base64)":
            charset = rng.choice(("utf-8", "iso-8859-1"))
            data = text.replace("€", "EUR").encode(charset) if charset != "utf-8" else text.encode()
            if rng.random() < 0.5:
                return f"text/plain; charset={charset}", b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64(data)
            return f"text/plain; charset={charset}", b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + _qp(
                data.decode(charset), charset
            )
        size = rng.randint(90_000, 140_000) if kind == "~100 KB attachment" else rng.randint(2_000, 30_000)
        content_type, body = _multipart(
            "mixed", boundary, [_part("text/plain; charset=utf-8", "7bit", text.encode()), _attachment(rng, size)]
        )
        return content_type, b"\r\n" + body


def make_corpus(count: int, seed: int) -> Corpus:
    writer = _Writer(seed)
    names, weights = zip(*KINDS, strict=True)
    kinds = [
        writer.rng.choices(names, weights)[0] if index >= 20 else writer.rng.choice(names[:3]) for index in range(count)
    ]
    mails = [writer.mail(index, kind) for index, kind in enumerate(kinds)]
    replies = sum(kind in REPLIES for kind in kinds)
    return Corpus(mails, kinds, count - replies, replies)
