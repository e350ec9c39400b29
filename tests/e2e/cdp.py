"""Headless Chromium driven over the Chrome DevTools Protocol (a websocket, with aiohttp): no selenium.

    async with Chromium.launch(binary, profile_dir) as browser:
        page = await browser.new_page()
        await page.goto("http://127.0.0.1:8080/login")
        await page.wait_for("document.readyState === 'complete'")
        title = await page.eval("document.title")

The browser runs in its own session (process group) and is stopped by its PID, never by name.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp


class CdpError(Exception):
    pass


class Chromium:
    def __init__(
        self, process: subprocess.Popen[bytes], http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
    ) -> None:
        self.process = process
        self.http = http
        self.ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @asynccontextmanager
    async def launch(cls, binary: str, profile: Path, within: float = 20.0) -> AsyncIterator[Chromium]:
        process = _spawn(binary, profile)
        http = aiohttp.ClientSession(trust_env=False)
        try:
            deadline = time.monotonic() + within
            while (address := _devtools_address(profile)) is None:
                if process.poll() is not None:
                    err = (profile / "chromium.log").read_text(errors="replace")
                    raise CdpError(f"chromium exited ({process.returncode}): {err[-500:]}")
                if time.monotonic() > deadline:
                    raise CdpError("chromium did not open its DevTools port")
                await asyncio.sleep(0.05)
            port, path = address
            ws = await http.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0)
            browser = cls(process, http, ws)
            try:
                yield browser
            finally:
                browser._reader.cancel()
                await ws.close()
        finally:
            await http.close()
            _stop(process)

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            future = self._pending.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(data)

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self.ws.send_str(json.dumps(message))
        reply = await asyncio.wait_for(future, 15)
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def new_page(self, *, isolated: bool = False) -> Page:
        """A new tab; ``isolated``: in a browser context of its own (its own cookies and storage: another user)."""
        params: dict[str, Any] = {"url": "about:blank"}
        if isolated:
            params["browserContextId"] = (await self.send("Target.createBrowserContext"))["browserContextId"]
        target = await self.send("Target.createTarget", params)
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page = Page(self, attached["sessionId"])
        await page.send("Page.enable")
        await page.send("Runtime.enable")
        return page


class Page:
    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser = browser
        self.session = session

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.browser.send(method, params, self.session)

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", {"url": url})

    async def eval(self, expression: str) -> Any:
        reply = await self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        if "exceptionDetails" in reply:
            raise CdpError(f"{expression}: {reply['exceptionDetails'].get('text')}")
        return reply["result"].get("value")

    async def screenshot(self, path: Path) -> None:
        """The visible page as a PNG file."""
        shot = await self.send("Page.captureScreenshot", {"format": "png"})
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))

    async def wait_for(self, expression: str, within: float = 10.0) -> Any:
        """The expression's value once truthy (errors while a page loads count as not yet)."""
        deadline = time.monotonic() + within
        last: Any = None
        while time.monotonic() < deadline:
            with contextlib.suppress(CdpError):
                last = await self.eval(expression)
                if last:
                    return last
            await asyncio.sleep(0.05)
        raise AssertionError(f"not true within {within} s: {expression} (last: {last!r})")


def _spawn(binary: str, profile: Path) -> subprocess.Popen[bytes]:
    profile.mkdir(parents=True, exist_ok=True)
    args = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
        "--disable-extensions", "--disable-background-networking", "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank",
    ]  # fmt: skip
    # Root needs --no-sandbox; its own session, so the whole process tree stops with its group. Its chatter
    # goes to a file (a pipe nobody reads would fill and stall it).
    with (profile / "chromium.log").open("wb") as log:
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)


def _devtools_address(profile: Path) -> tuple[str, str] | None:
    """(port, browser websocket path) once Chromium has written them."""
    port_file = profile / "DevToolsActivePort"
    lines = port_file.read_text().splitlines() if port_file.exists() else []
    return (lines[0], lines[1]) if len(lines) >= 2 else None


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
