"""AGI wire format: reply parsing, quoting, script routing."""

from __future__ import annotations

import pytest

from tvoxcc.agi.errors import AgiProtocolError
from tvoxcc.agi.protocol import check_command, parse_reply, quote, split_script


@pytest.mark.parametrize(
    ("line", "code", "result", "data", "extra"),
    [
        ("200 result=1", 200, "1", "", {}),
        ("200 result=0 endpos=12345", 200, "0", "", {"endpos": "12345"}),
        ("200 result=1 (some (nested) value)", 200, "1", "some (nested) value", {}),
        ("200 result= (timeout)", 200, "", "timeout", {}),
        ("200 result=123 (timeout)", 200, "123", "timeout", {}),
        ("200 result=-1", 200, "-1", "", {}),
        ("100 result=0 Trying...", 100, "", "result=0 Trying...", {}),
        ("510 Invalid or unknown command", 510, "", "Invalid or unknown command", {}),
        ("511 Command Not Permitted on a dead channel or intercept routine", 511, "", "", {}),
    ],
)
def test_parse_reply(line: str, code: int, result: str, data: str, extra: dict[str, str]) -> None:
    reply = parse_reply(line)
    assert reply.code == code and reply.result == result
    if code != 511:
        assert reply.data == data
    assert reply.extra == extra


@pytest.mark.parametrize("junk", ["", "HELLO", "20 result=1", "abc 200", "\x00\xff"])
def test_parse_reply_junk(junk: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply(junk)


def test_result_int() -> None:
    assert parse_reply("200 result=49").result_int == 49
    assert parse_reply("200 result= (timeout)").result_int == 0


def test_quote_and_newline_injection() -> None:
    assert quote('a "b" \\c') == '"a \\"b\\" \\\\c"'
    assert quote("") == '""'
    with pytest.raises(ValueError):
        check_command("SET VARIABLE X 1\nEXEC System rm")


def test_split_script() -> None:
    assert split_script("ping") == ("ping", {})
    assert split_script("/ivr/main/?tenant=acme&x=") == ("ivr/main", {"tenant": "acme", "x": ""})
