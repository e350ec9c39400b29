"""One FastAGI request: the channel's ``agi_*`` variables and the command/reply conversation."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from tvoxcc.agi.errors import AgiCommandError, AgiHangup, AgiProtocolError, AgiTimeout
from tvoxcc.agi.protocol import AgiResponse, check_command, parse_reply, quote, split_script


class AgiRequest:
    def __init__(
        self,
        headers: Mapping[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        command_timeout: float = 30.0,
    ) -> None:
        self.headers: Mapping[str, str] = headers
        self.path, self.query = split_script(headers.get("agi_network_script", ""))
        self.command_timeout = command_timeout
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()  # commands are strictly one at a time on an AGI socket
        self.hung_up = False

    # -- agi_* variables -------------------------------------------------------------------
    @property
    def script(self) -> str:
        return self.path

    @property
    def args(self) -> tuple[str, ...]:
        """``agi_arg_1``, ``agi_arg_2``, ... in order (the AGI() application's extra arguments)."""
        out: list[str] = []
        while f"agi_arg_{len(out) + 1}" in self.headers:
            out.append(self.headers[f"agi_arg_{len(out) + 1}"])
        return tuple(out)

    @property
    def channel(self) -> str:
        return self.headers.get("agi_channel", "")

    @property
    def uniqueid(self) -> str:
        return self.headers.get("agi_uniqueid", "")

    @property
    def callerid(self) -> str:
        return self.headers.get("agi_callerid", "")

    @property
    def context(self) -> str:
        return self.headers.get("agi_context", "")

    @property
    def extension(self) -> str:
        return self.headers.get("agi_extension", "")

    # -- the conversation ------------------------------------------------------------------
    async def send(self, command: str, *, reply_timeout: float | None = None) -> AgiResponse:
        """Send one command and return its final reply.

        Raises ``AgiHangup`` when the channel is gone (``HANGUP``, ``511``, or the socket closed:
        panoramisk would raise ``ValueError: int('')`` there), ``AgiTimeout`` when no reply comes
        in ``reply_timeout`` (default ``command_timeout``), ``AgiCommandError`` on ``510``/``520``.
        """
        if self.hung_up:
            raise AgiHangup("channel already hung up")
        line = check_command(command).encode("utf-8") + b"\n"
        limit = self.command_timeout if reply_timeout is None else reply_timeout
        async with self._lock:
            try:
                async with asyncio.timeout(limit):
                    self._writer.write(line)
                    await self._writer.drain()
                    return await self._read_reply()
            except TimeoutError:
                # The late reply would desynchronise every later command: this request is over.
                self.hung_up = True
                raise AgiTimeout(f"no reply to {command.split(' ', 1)[0]!r} in {limit:g}s") from None
            except (ConnectionError, OSError) as exc:
                self.hung_up = True
                raise AgiHangup(f"connection lost: {type(exc).__name__}") from None

    async def _read_reply(self) -> AgiResponse:
        while True:
            raw = await self._reader.readline()
            if not raw or not raw.endswith(b"\n"):
                self.hung_up = True
                raise AgiHangup("Asterisk closed the AGI socket")
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if text == "HANGUP":
                # AGISIGHUP: Asterisk tells us the caller left; later commands would get 511.
                self.hung_up = True
                raise AgiHangup("HANGUP received")
            if text.startswith("520-"):
                await self._skip_usage()
                raise AgiCommandError(520, "invalid command syntax")
            reply = parse_reply(text)
            if reply.code == 100:  # "100 result=0 Trying...": the real reply follows
                continue
            if reply.code == 200:
                return reply
            if reply.code == 511:
                self.hung_up = True
                raise AgiHangup("511 command not permitted on a dead channel")
            raise AgiCommandError(reply.code, reply.data)

    async def _skip_usage(self) -> None:
        # "520-Invalid command syntax.  Proper usage follows:" ... "520 End of proper usage."
        for _ in range(200):
            raw = await self._reader.readline()
            if not raw:
                self.hung_up = True
                raise AgiHangup("Asterisk closed the AGI socket")
            if raw.startswith(b"520 "):
                return
        raise AgiProtocolError("endless 520 usage text")

    # -- helpers ---------------------------------------------------------------------------
    async def answer(self) -> None:
        await self.send("ANSWER")

    async def hangup(self) -> None:
        await self.send("HANGUP")

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.send(f"VERBOSE {quote(message)} {level}")

    async def set_variable(self, name: str, value: str) -> None:
        await self.send(f"SET VARIABLE {name} {quote(value)}")

    async def get_variable(self, name: str) -> str | None:
        """The value, or None when the variable is not set (``result=0``)."""
        reply = await self.send(f"GET VARIABLE {name}")
        return reply.data if reply.result == "1" else None

    async def stream_file(self, name: str, escape_digits: str = "") -> str:
        """Play a sound; returns the escape digit pressed, or ``""``."""
        reply = await self.send(f"STREAM FILE {name} {quote(escape_digits)}")
        code = reply.result_int
        if code < 0:
            raise AgiHangup(f"STREAM FILE {name} failed")
        return chr(code) if code > 0 else ""

    async def get_data(self, prompt: str, timeout_ms: int | None = None, max_digits: int | None = None) -> str:
        """Play ``prompt`` and collect digits (ended by ``#``, ``max_digits`` or timeout)."""
        command = f"GET DATA {prompt}"
        if timeout_ms is not None or max_digits is not None:
            command += f" {timeout_ms if timeout_ms is not None else 0}"
        if max_digits is not None:
            command += f" {max_digits}"
        reply = await self.send(command)
        if reply.result == "-1":
            raise AgiHangup("GET DATA failed (hangup)")
        return reply.result

    async def get_digits(self, prompt: str, max_digits: int, timeout_ms: int = 5000) -> str:
        return await self.get_data(prompt, timeout_ms, max_digits)

    async def say_digits(self, digits: str, escape_digits: str = "") -> str:
        reply = await self.send(f"SAY DIGITS {digits} {quote(escape_digits)}")
        return chr(reply.result_int) if reply.result_int > 0 else ""

    async def exec(self, application: str, options: str = "") -> AgiResponse:
        return await self.send(f"EXEC {application} {quote(options)}")

    def __repr__(self) -> str:
        return f"AgiRequest(path={self.path!r}, channel={self.channel!r}, uniqueid={self.uniqueid!r})"
