"""Parsing real-world and hostile mails: never a crash, every string bounded, noise rejected with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tvoxcc.mail.html_text import html_to_text
from tvoxcc.mail.parse import parse_mail

CORPUS = Path(__file__).parent / "data" / "mail"

# file -> the rejection reason's start, or None when it must become a ticket message
EXPECTED: dict[str, str | None] = {
    "plain.eml": None,
    "bad_charset.eml": None,
    "no_from.eml": "no sender address",
    "huge_header.eml": None,
    "nested_multipart.eml": None,
    "html_only.eml": None,
    "rfc2047_charsets.eml": None,
    "auto_submitted.eml": "auto-submitted",
    "precedence_bulk.eml": "precedence: bulk",
    "x_autoreply.eml": "x-autoreply",
    "bounce_dsn.eml": "bounce",
    "nul_and_broken_base64.eml": None,
    "missing_boundary.eml": None,
    "garbage.eml": "no sender address",
}


def test_corpus_is_complete() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_mail_is_handled_or_rejected_with_a_reason(name: str) -> None:
    mail = parse_mail((CORPUS / name).read_bytes())
    expected = EXPECTED[name]
    if expected is None:
        assert mail.rejection is None
    else:
        assert mail.rejection is not None and mail.rejection.startswith(expected), mail.rejection
    assert len(mail.subject) <= 500 and len(mail.message_id) <= 500 and len(mail.sender) <= 254
    assert "\x00" not in mail.subject + mail.body_text + mail.sender_name
    assert mail.message_id.startswith("<") and mail.message_id.endswith(">")


def test_sender_is_case_folded_with_its_name() -> None:
    mail = parse_mail((CORPUS / "plain.eml").read_bytes())
    assert (mail.sender, mail.sender_name, mail.to) == ("anna.rossi@example.com", "Anna Rossi", ["support@acme.test"])
    assert mail.body_text == "My printer is broken."


def test_rfc2047_headers_in_any_charset() -> None:
    mail = parse_mail((CORPUS / "rfc2047_charsets.eml").read_bytes())
    assert mail.sender_name == "Привет"
    assert mail.subject == "こんにちは € “quoted”"


def test_unknown_charset_degrades_instead_of_failing() -> None:
    mail = parse_mail((CORPUS / "bad_charset.eml").read_bytes())
    assert "Caf" in mail.body_text and "hello" in mail.subject


def test_alternative_prefers_plain_and_keeps_inline_image_and_attachment() -> None:
    mail = parse_mail((CORPUS / "nested_multipart.eml").read_bytes())
    assert mail.body_text == "Plain wins."
    by_name = {a.filename: a for a in mail.attachments}
    assert by_name["logo.png"].content_id == "logo@x" and by_name["logo.png"].content_type == "image/png"
    assert by_name["invoice.pdf"].data == b"%PDF-1.4 fake" and by_name["invoice.pdf"].content_id is None


def test_html_only_is_sanitised_to_text() -> None:
    mail = parse_mail((CORPUS / "html_only.eml").read_bytes())
    assert mail.body_text == "Hello team,\n\ncafé & more\n\n- one\n\n- two"
    assert "alert" not in mail.body_text and "color" not in mail.body_text


def test_message_without_id_gets_a_stable_one() -> None:
    raw = b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n"
    assert parse_mail(raw).message_id == parse_mail(raw).message_id
    assert parse_mail(raw).message_id != parse_mail(raw + b"more").message_id


def test_attachment_over_the_limit_is_dropped_and_said_so() -> None:
    raw = (
        b'From: a@example.com\r\nMessage-ID: <big@x>\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b'--b\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename="big.zip"\r\n\r\n'
        + b"z" * 2000
        + b"\r\n--b--\r\n"
    )
    mail = parse_mail(raw, max_attachment_bytes=1000)
    assert mail.attachments == []
    assert "big.zip" in mail.body_text and "not stored" in mail.body_text


def test_threading_headers() -> None:
    raw = b"From: a@example.com\r\nIn-Reply-To: <p@x>\r\nReferences: <o@x>\r\n <p@x>\r\n\r\nb\r\n"
    mail = parse_mail(raw)
    assert mail.in_reply_to == "<p@x>" and mail.references == ["<o@x>", "<p@x>"]


def test_html_to_text_survives_broken_markup() -> None:
    assert html_to_text("<div>a<b>b</div><script>x") == "ab"
