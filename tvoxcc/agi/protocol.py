"""AGI wire format: the ``agi_*`` header block, command quoting and reply lines.

Written here instead of using panoramisk's ``parse_agi_result`` because that one calls
``int('')`` (ValueError) on the empty read that means "Asterisk dropped the socket", and
turns ``result=-1`` into an error dict that loses the reply; we return typed values and map
EOF to ``AgiHangup`` before any parsing.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from tvoxcc.agi.errors import AgiProtocolError

MAX_HEADER_LINES = 256

# "200 result=1 (some data) endpos=1234": result may be empty, data may contain parentheses.
_REPLY = re.compile(r"^(?P<code>\d{3})(?:[ -](?P<rest>.*))?$")
_RESULT = re.compile(r"^result=(?P<result>\S*)\s*(?:\((?P<data>.*)\))?\s*(?P<extra>.*)$")
_KV = re.compile(r"(\w+)=(\S*)")


@dataclass(frozen=True, slots=True)
class AgiResponse:
    code: int
    result: str = ""
    data: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def result_int(self) -> int:
        """``result`` as an int (0 when empty or not numeric, e.g. GET DATA with no digits)."""
        try:
            return int(self.result)
        except ValueError:
            return 0


def parse_reply(line: str) -> AgiResponse:
    """One reply line (without newline) -> ``AgiResponse``; raises ``AgiProtocolError`` on junk."""
    match = _REPLY.match(line)
    if match is None:
        raise AgiProtocolError(f"not an AGI reply: {line[:80]!r}")
    code = int(match["code"])
    rest = match["rest"] or ""
    if code != 200:
        return AgiResponse(code=code, data=rest)
    res = _RESULT.match(rest)
    if res is None:
        return AgiResponse(code=code, data=rest)
    return AgiResponse(
        code=code,
        result=res["result"],
        data=res["data"] or "",
        extra=dict(_KV.findall(res["extra"] or "")),
    )


def quote(arg: str) -> str:
    """Quote one AGI argument: Asterisk's parser honours double quotes and backslash escapes."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_command(command: str) -> str:
    """A command must be one line: an embedded newline would smuggle a second command."""
    if "\n" in command or "\r" in command:
        raise ValueError("AGI command must not contain newlines")
    return command


def split_script(script: str) -> tuple[str, dict[str, str]]:
    """``agi_network_script`` (``"ivr/main?x=1"``) -> route path ``"ivr/main"`` and query dict."""
    path, _, query = script.partition("?")
    return path.strip("/"), dict(parse_qsl(query, keep_blank_values=True))


async def read_headers(reader: asyncio.StreamReader, max_lines: int = MAX_HEADER_LINES) -> dict[str, str]:
    """Read the ``agi_key: value`` block up to the blank line.

    EOF before the blank line raises (panoramisk loops on ``read()`` returning ``b""``, which never
    yields to the event loop: the whole server freezes). The first four bytes must be ``agi_`` so
    junk is rejected at once; then the block is taken in one ``readuntil`` (the stream's limit
    bounds its size), which is much cheaper than a ``readline`` per header.
    """
    try:
        first = await reader.readexactly(4)
        if first != b"agi_":
            if first.startswith(b"\n"):
                raise AgiProtocolError("empty header block")
            raise AgiProtocolError(f"not an agi_ header: {first!r}")
        block = first + await reader.readuntil(b"\n\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.startswith(b"\n"):
            raise AgiProtocolError("empty header block") from None
        seen = exc.partial.count(b"\n")
        raise AgiProtocolError(f"peer closed after {seen} header lines, before the blank line") from None
    except asyncio.LimitOverrunError:
        raise AgiProtocolError("header block too long") from None
    lines = block.decode("utf-8", errors="replace").split("\n")[:-2]
    if len(lines) > max_lines:
        raise AgiProtocolError(f"more than {max_lines} header lines")
    headers: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.rstrip("\r").partition(":")
        if not sep or not key.startswith("agi_") or not key[4:].replace("_", "").isalnum():
            raise AgiProtocolError(f"not an agi_ header: {line[:60]!r}")
        headers[key] = value.strip()
    return headers
