"""Charsets as real mail declares them: browser-style labels, legacy CJK code pages, RFC 6532 8-bit headers.

Every mail here is parsed both ways (the plain-mail fast path and the email package) and must agree.
"""

from __future__ import annotations

import pytest

from tvoxcc.mail.charsets import decode_bytes, decode_words
from tvoxcc.mail.flags import MessageFlag
from tvoxcc.mail.parse import ParsedMail, parse_mail


def _mail(body: bytes, charset: str | None, *, subject: bytes = b"hello", sender: bytes = b"a@x.test") -> bytes:
    content_type = b"" if charset is None else b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n"
    return (
        b"From: " + sender + b"\r\nSubject: " + subject + b"\r\nMessage-ID: <c@x>\r\n" + content_type + b"\r\n" + body
    )


def _parsed(raw: bytes) -> ParsedMail:
    mail = parse_mail(raw)
    return mail


@pytest.mark.parametrize("label", ["iso-8859-1", "ISO-8859-1", "us-ascii", "latin1", "windows-1252"])
def test_latin1_labels_hold_windows_1252_bytes(label: str) -> None:
    mail = _parsed(_mail(b"Price \x80 5, \x93quoted\x94 caf\xe9 \x85", label))
    assert mail.body_text == "Price € 5, “quoted” café …"
    assert not mail.flags  # this is what the label means to every browser: no guess


def test_bytes_windows_1252_leaves_undefined_become_c1_controls_not_errors() -> None:
    assert decode_bytes(b"a\x81b\x9dc", "iso-8859-1").text == "a\x81b\x9dc"


def test_utf8_mislabelled_as_latin1_is_read_as_utf8() -> None:
    assert _parsed(_mail("Grüße €".encode(), "iso-8859-1")).body_text == "Grüße €"


@pytest.mark.parametrize(
    ("label", "text", "codec"),
    [
        # Second bytes 0x5C (表, ソ, 能) and NEC/IBM extensions (①, ～) that plain shift_jis lacks.
        ("shift_jis", "表示 ソフト 能力 ① ～ 髙", "cp932"),
        ("Shift_JIS", "表示 ソフト", "shift_jis"),
        ("windows-31j", "表示 ①", "cp932"),
        ("x-sjis", "表示", "cp932"),
        ("iso-2022-jp", "こんにちは 表示", "iso2022_jp"),
        ("iso-2022-jp", "半角ｶﾀｶﾅ", "iso2022_jp_ext"),
        ("euc-jp", "こんにちは 表示", "euc_jp"),
        ("gb2312", "你好 镕 喆", "gb18030"),  # GBK characters under the gb2312 label
        ("ks_c_5601-1987", "안녕하세요 똠방각하", "cp949"),  # cp949's extension syllables (똠)
        ("big5", "你好 臺灣", "big5"),
        ("koi8-r", "Привет", "koi8-r"),
        ("windows-1251", "Привет", "cp1251"),
        ("iso-8859-9", "İstanbul ğ ş €", "cp1254"),
        ("tis-620", "สวัสดี", "cp874"),
    ],
)
def test_declared_charsets_decode_with_their_browser_decoder(label: str, text: str, codec: str) -> None:
    mail = _parsed(_mail(text.encode(codec), label))
    assert mail.body_text == text
    assert MessageFlag.CHARSET_FALLBACK not in mail.flags


def test_unknown_label_falls_back_and_says_so() -> None:
    mail = _parsed(_mail("café".encode("latin-1"), "x-klingon"))
    assert mail.body_text == "café" and MessageFlag.CHARSET_FALLBACK in mail.flags
    assert _parsed(_mail("Grüße".encode(), "x-klingon")).body_text == "Grüße"


def test_bytes_that_do_not_fit_the_declared_charset_are_flagged() -> None:
    mail = _parsed(_mail(b"caf\xe9 \xe2\x82\xac", "utf-8"))  # one latin-1 byte in a UTF-8 mail
    assert mail.body_text == "caf\ufffd €" and MessageFlag.CHARSET_FALLBACK in mail.flags


def test_pseudo_codecs_are_no_charsets() -> None:
    mail = _parsed(_mail(b"\\u0041 caf\xe9", "unicode_escape"))
    assert mail.body_text == "\\u0041 café" and MessageFlag.CHARSET_FALLBACK in mail.flags


def test_raw_utf8_headers_rfc6532() -> None:
    raw = _mail(
        b"body",
        "utf-8",
        subject="Grüße ☕ 表示".encode(),
        sender="Jürgen Müller <jürgen@exämple.de>".encode(),
    )
    mail = _parsed(raw)
    assert (mail.subject, mail.sender_name, mail.sender) == ("Grüße ☕ 表示", "Jürgen Müller", "jürgen@exämple.de")
    assert "\ufffd" not in mail.subject + mail.sender_name


def test_raw_windows_1252_header_is_not_replacement_characters() -> None:
    assert _parsed(_mail(b"b", None, subject=b"caf\xe9 \x93ok\x94")).subject == "café “ok”"


@pytest.mark.parametrize(
    ("header", "text"),
    [
        ("=?iso-8859-1?q?=80_5_=93q=94?=", "€ 5 “q”"),
        ("=?shift_jis?b?" + __import__("base64").b64encode("表示①".encode("cp932")).decode() + "?=", "表示①"),
        ("=?ks_c_5601-1987?b?" + __import__("base64").b64encode("똠".encode("cp949")).decode() + "?=", "똠"),
        ("=?utf-8*en?q?caf=C3=A9?=", "café"),
        ("=?utf-8?q?a?=  =?utf-8?q?b?= c", "ab c"),
        ("Re: =?utf-8?q?caf=C3=A9?= x", "Re: café x"),
        ("=?utf-8?b?!!!?= ok", "=?utf-8?b?!!!?= ok"),
    ],
)
def test_encoded_words(header: str, text: str) -> None:
    assert decode_words(header) == text
