"""Attachments, senders and structures of real customers' mail: safe names, executables blocked, flags set."""

from __future__ import annotations

import pytest

from tvoxcc.mail.attachments import blocked_reason, safe_filename
from tvoxcc.mail.flags import MessageFlag
from tvoxcc.mail.parse import MAX_BODY_CHARS, ParsedMail, parse_mail


def _with_parts(*parts: bytes, head: bytes = b"") -> bytes:
    return (
        b"From: a@example.com\r\nMessage-ID: <parts@x>\r\nSubject: files\r\n"
        + head
        + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        + b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        + b"".join(parts)
        + b"--b--\r\n"
    )


def _file(name: str, content_type: str, data: bytes) -> bytes:
    return (
        f"--b\r\nContent-Type: {content_type}\r\nContent-Disposition: attachment; filename*=utf-8''"
        + "".join(f"%{byte:02X}" for byte in name.encode())
        + "\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + __import__("base64").b64encode(data).decode()
        + "\r\n"
    ).encode()


def _attachments(raw: bytes) -> dict[str, tuple[str | None, int, bytes]]:
    mail = parse_mail(raw)
    return {a.filename: (a.blocked, a.sent_size, a.data) for a in mail.attachments}


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../x.txt", "x.txt"),
        ("C:\\x\\y.txt", "y.txt"),
        ("/etc/passwd", "passwd"),
        ("report\u202egpj.txt", "report gpj.txt"),
        ("a\r\nb\x07c.txt", "a b c.txt"),
        ("..", "part-1"),
        ("   ", "part-1"),
        (".hidden.txt", "hidden.txt"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
    ],
)
def test_names_are_one_printable_bounded_component(sent: str, kept: str) -> None:
    assert safe_filename(sent, "part-1") == kept


@pytest.mark.parametrize(
    ("name", "content_type", "data"),
    [
        ("setup.exe", "application/octet-stream", b"\x00\x01"),
        ("invoice.pdf.exe", "application/pdf", b"%PDF"),
        ("INVOICE.PDF.EXE", "application/pdf", b"%PDF"),
        ("scan.pdf", "application/pdf", b"MZ\x90\x00\x03\x00"),  # a program dressed as a PDF
        ("photo\u202egpj.scr", "image/jpeg", b"\xff\xd8"),  # shows as photorcs.jpg
        ("run.js", "text/plain", b"x"),
        ("a.vbs", "text/plain", b"x"),
        ("a.bat", "text/plain", b"x"),
        ("a.cmd", "text/plain", b"x"),
        ("a.com", "application/octet-stream", b"x"),
        ("a.msi", "application/octet-stream", b"x"),
        ("a.jar", "application/octet-stream", b"PK"),
        ("a.ps1", "text/plain", b"x"),
        ("a.hta", "text/html", b"x"),
        ("a.lnk", "application/octet-stream", b"x"),
        ("../../x.sh", "text/plain", b"rm -rf /"),
        ("noextension", "application/x-msdownload", b"x"),
        ("tool", "application/octet-stream", b"\x7fELF\x02"),
    ],
)
def test_executables_are_blocked_and_their_bytes_not_kept(name: str, content_type: str, data: bytes) -> None:
    raw = _with_parts(_file(name, content_type, data))
    mail = parse_mail(raw)
    [attachment] = mail.attachments
    assert attachment.blocked and attachment.data == b"" and attachment.sent_size == len(data)
    assert "/" not in attachment.filename and "\u202e" not in attachment.filename
    assert MessageFlag.ATTACHMENT_BLOCKED in mail.flags


def test_ordinary_files_are_kept() -> None:
    raw = _with_parts(
        _file("report.pdf", "application/pdf", b"%PDF-1.4"),
        _file("../../notes.txt", "text/plain", b"notes"),
        _file("photo.jpg", "image/jpeg", b"\xff\xd8\xff"),
        _file("data.zip", "application/zip", b"PK\x03\x04"),
    )
    mail = parse_mail(raw)
    assert _attachments(raw) == {
        "report.pdf": (None, 8, b"%PDF-1.4"),
        "notes.txt": (None, 5, b"notes"),
        "photo.jpg": (None, 3, b"\xff\xd8\xff"),
        "data.zip": (None, 4, b"PK\x03\x04"),
    }
    assert not mail.flags
    assert blocked_reason("report.pdf", "application/pdf", b"%PDF") is None


def test_attachment_over_the_limit_is_flagged() -> None:
    mail = parse_mail(_with_parts(_file("big.zip", "application/zip", b"z" * 2000)), max_attachment_bytes=1000)
    assert mail.attachments == [] and MessageFlag.ATTACHMENT_TOO_LARGE in mail.flags
    assert "big.zip" in mail.body_text and "not stored" in mail.body_text


def test_forwarded_mail_is_kept_whole_as_eml_and_its_files_too() -> None:
    forwarded = (
        b"--b\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n"
        b"From: Customer <c@x.test>\r\nSubject: Original question\r\nMessage-ID: <orig@x>\r\n"
        b'Content-Type: multipart/mixed; boundary="c"\r\n\r\n'
        b"--c\r\nContent-Type: text/plain\r\n\r\nThe original text.\r\n"
        b'--c\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="inner.pdf"\r\n\r\n'
        b"%PDF-inner\r\n--c--\r\n"
    )
    mail = parse_mail(_with_parts(forwarded))
    files = {a.filename: a for a in mail.attachments}
    assert set(files) == {"Original question.eml", "inner.pdf"}
    eml = files["Original question.eml"]
    assert eml.content_type == "message/rfc822"
    again = parse_mail(eml.data)
    assert (again.subject, again.message_id, again.body_text) == ("Original question", "<orig@x>", "The original text.")
    assert mail.body_text == "see attached"


def _nested(depth: int) -> bytes:
    body = b"Content-Type: text/plain\r\n\r\ndeep inside\r\n"
    for level in range(depth):
        boundary = f"n{level}".encode()
        body = (
            b'Content-Type: multipart/mixed; boundary="'
            + boundary
            + b'"\r\n\r\n--'
            + boundary
            + b"\r\n"
            + body
            + b"\r\n--"
            + boundary
            + b"--\r\n"
        )
    return b"From: a@example.com\r\nMessage-ID: <deep@x>\r\nSubject: deep\r\n" + body


def test_mime_nested_past_the_limit_is_flagged_not_read() -> None:
    mail = parse_mail(_nested(30))
    assert MessageFlag.MIME_TOO_DEEP in mail.flags and "deep inside" not in mail.body_text
    assert MessageFlag.MIME_TOO_DEEP not in parse_mail(_nested(5)).flags
    assert parse_mail(_nested(5)).body_text == "deep inside"


def test_mime_nested_a_thousand_deep_is_stored_not_a_crash() -> None:
    mail = parse_mail(_nested(1000))  # the email package's parser overflows the stack on this
    assert mail.rejection is None and mail.sender == "a@example.com"
    assert MessageFlag.MIME_TOO_DEEP in mail.flags


def test_long_body_is_truncated_and_flagged() -> None:
    raw = b"From: a@example.com\r\nSubject: long\r\n\r\n" + b"x" * (MAX_BODY_CHARS + 10)
    mail = parse_mail(raw)
    assert len(mail.body_text) == MAX_BODY_CHARS and MessageFlag.BODY_TRUNCATED in mail.flags


def _from(value: bytes) -> ParsedMail:
    raw = b"From: " + value + b"\r\nSubject: hi\r\nMessage-ID: <f@x>\r\n\r\nbody\r\n"
    mail = parse_mail(raw)
    return mail


@pytest.mark.parametrize(
    ("value", "sender", "name"),
    [
        (b"Kowalski, Jan <jan@example.com>", "jan@example.com", "Kowalski, Jan"),
        (b'"Kowalski, Jan" <Jan@Example.com>', "jan@example.com", "Kowalski, Jan"),
        (b"M\xc3\xbcller, J\xc3\xbcrgen <j@example.de>", "j@example.de", "Müller, Jürgen"),
        (b"=?utf-8?q?Jan=0D=0ABcc=3A_x=E2=80=AE?= <jan@example.com>", "jan@example.com", "Jan Bcc: x"),
        (b"=?utf-8?q?Eve=07=1B[31m?= <eve@example.com>", "eve@example.com", "Eve [31m"),
        (b'"Jan" jan@example.com', "jan@example.com", "Jan"),  # no angle brackets
        (b'"Kowalski, Jan <jan@example.com>"', "jan@example.com", "Kowalski, Jan"),  # all quoted
        (b"Jan <jan@example.com>, ", "jan@example.com", "Jan"),
    ],
)
def test_senders_as_real_clients_write_them(value: bytes, sender: str, name: str) -> None:
    mail = _from(value)
    assert (mail.sender, mail.sender_name, mail.rejection) == (sender, name, None)


def test_two_addresses_or_none_give_no_sender() -> None:
    assert _from(b"a, b <b@example.com>, c@example.com").rejection == "no sender address"  # which one? none
    assert _from(b"Kowalski").rejection == "no sender address"


def test_loop_addresses_are_read_from_x_loop() -> None:
    raw = b"From: a@example.com\r\nX-Loop: Support@Acme.test\r\nX-Loop: <other@x.test>\r\nSubject: s\r\n\r\nb"
    assert parse_mail(raw).loop_addresses == {"support@acme.test", "other@x.test"}


@pytest.mark.parametrize("depth", [50, 1000])
def test_forwards_of_forwards_are_one_eml_not_a_crash(depth: int) -> None:
    inner = b"Content-Type: message/rfc822\r\n\r\nFrom: b@example.com\r\nSubject: fw\r\n" * depth
    mail = parse_mail(b"From: a@example.com\r\nMessage-ID: <fw@x>\r\nSubject: s\r\n" + inner + b"\r\ninner\r\n")
    assert mail.sender == "a@example.com" and MessageFlag.MIME_TOO_DEEP in mail.flags
    assert len(mail.attachments) <= 1  # the outermost forwarded mail holds all the others
