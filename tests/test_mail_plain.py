"""The plain-mail fast path gives exactly what the email package gives, and steps aside for anything else."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tvoxcc.mail.parse import parse_mail, parse_with_email_package
from tvoxcc.mail.plain_mail import read_plain_mail

CORPUS = Path(__file__).parent / "data" / "mail"

FROMS = [
    "Anna Rossi <anna@example.com>",
    '"Rossi, Anna" <ANNA@Example.COM>',
    "=?utf-8?b?0J/RgNC40LLQtdGC?= <ivan@example.ru>",
    "bob@example.com (Bob)",
    "<mailer-daemon@example.com>",
    "nobody",
    "",
]
SUBJECTS = ["question", "Re: [#T-1042] printer", "=?iso-8859-1?q?caf=E9?= ok", "", "a\r\n  folded\r\n\tsubject"]
CONTENT_TYPES = [
    None,
    "text/plain",
    "text/plain; charset=utf-8",
    'TEXT/Plain; charset="ISO-8859-1"; format=flowed',
    "text/plain; charset=x-unknown",
    "text/plain; charset=shift_jis",
    "text/plain; charset=us-ascii",
    'text/plain; charset=""',
    "text/plain; charset=<utf-8>",
    "text/plain; charset*=utf-8''x",
    "text/plain;",
    "text/html; charset=utf-8",
    "multipart/alternative; boundary=b",
    "text",
]
ENCODINGS = [None, "7bit", "8BIT", "quoted-printable", "base64 "]
EXTRAS = [
    [],
    ["Auto-Submitted: auto-replied"],
    ["Precedence: bulk", "Return-Path: <>"],
    ["In-Reply-To: <a@b>", "References: <r1@x>\r\n <r2@x>"],
    ["To: a@x.test, =?utf-8?q?B=C3=A9?= <b@x.test>", "To: c@x.test"],
    ["Content-Disposition: attachment; filename=a.txt"],
    ["X-Autoreply: yes"],
    ["X-Loop: support@acme.test"],
    ["Subject: second subject"],
]
BODIES = [
    b"Hello.\r\n",
    "Caff\u00e8 \u20ac\r\n".encode(),
    "caf\u00e9\r\n".encode("latin-1"),
    b"\x93quoted\x94 \x80 5\r\n",  # windows-1252
    "\u8868\u793a \u2460\r\n".encode("cp932"),  # Shift_JIS with a 0x5C second byte and an NEC extension
    b"",
    b"  \r\n\r\n",
]


def _mail(rng: random.Random) -> bytes:
    lines = [f"From: {rng.choice(FROMS)}", f"Subject: {rng.choice(SUBJECTS)}"]
    if rng.random() < 0.8:
        lines.append(f"Message-ID: <m{rng.randrange(10**6)}@example.com>")
    content_type, encoding = rng.choice(CONTENT_TYPES), rng.choice(ENCODINGS)
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if encoding is not None:
        lines.append(f"Content-Transfer-Encoding: {encoding}")
    lines.extend(rng.choice(EXTRAS))
    rng.shuffle(lines)
    head = "\r\n".join(lines).encode()
    body = rng.choice(BODIES)
    if rng.random() < 0.2:  # LF-only mail, as some tools write it
        head, body = head.replace(b"\r\n", b"\n"), body.replace(b"\r\n", b"\n")
    return head + (b"\n\n" if b"\r\n" not in head and b"\n" in head else b"\r\n\r\n") + body


def test_generated_mails_parse_the_same_both_ways() -> None:
    rng = random.Random(7)
    taken = 0
    for _ in range(3000):
        raw = _mail(rng)
        assert parse_mail(raw) == parse_with_email_package(raw), raw
        taken += read_plain_mail(raw) is not None
    assert 300 < taken < 2700  # both paths were exercised


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.eml")))
def test_corpus_parses_the_same_both_ways(name: str) -> None:
    raw = (CORPUS / name).read_bytes()
    assert parse_mail(raw) == parse_with_email_package(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@x.test\r\nSubject: hi\r\n\r\nbody",
        b"From: a@x.test\nSubject: hi\n\nbody",
        b"From: a@x.test\r\nContent-Type: text/plain; charset=utf-8\r\nSubject: x\r\n y\r\n\r\nbody",
    ],
)
def test_simple_mails_take_the_fast_path(raw: bytes) -> None:
    assert read_plain_mail(raw) is not None


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@x.test\r\nSubject: caff\xc3\xa8\r\n\r\nbody",  # 8-bit header
        b"From: a@x.test\r\nSubject: hi\n\r\nbody",  # mixed line ends
        b" folded: first\r\nFrom: a@x.test\r\n\r\nbody",  # continuation with nothing before
        b"From a@x.test Mon Jan  1 00:00:00 2026\r\nFrom: a@x.test\r\n\r\nbody",  # mbox From_ line
        b"From: a@x.test\r\nnot a header\r\n\r\nbody",
        b"From: a@x.test\r\nContent-Type: text/plain; charset*=utf-8''x\r\n\r\nbody",
        b"From: a@x.test\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9",
        b"From: a@x.test\r\nContent-Disposition: attachment\r\n\r\nbody",
        b"From: a@x.test",  # no body separator
    ],
)
def test_anything_else_goes_to_the_email_package(raw: bytes) -> None:
    assert read_plain_mail(raw) is None
    assert parse_mail(raw) == parse_with_email_package(raw)
