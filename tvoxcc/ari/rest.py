"""The one place ARI HTTP happens: base URL, basic auth, parameter encoding, error mapping.

Credentials go in an ``Authorization: Basic`` header built from the raw password, so any character
(``@ : / % #`` ...) works without URL-encoding games, and they never appear in a URL that could be
logged. Requests go through the small keep-alive client of tvoxcc.ari.http1 (why not aiohttp: there).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson

from tvoxcc.ari.errors import AriUnavailable, error_for_status
from tvoxcc.ari.http1 import Answer, Http1Client

log = logging.getLogger(__name__)

# Left as they are in query values (ids, sources and media lists read better, and stay under Asterisk's request
# line limit); everything else is %-encoded (a '+' too: Asterisk would read it as a space).
QUERY_SAFE = ":/,@"
# What ``quote`` leaves as it is anyway: a value made of these alone (ids, endpoint names: nearly all) is sent as
# it is, without quote's byte-by-byte pass (a third of a request's CPU in the voice service's profile).
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9_.~-]*")
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.~:/,@-]*")

Params = Mapping[str, str | int | float | bool | None]


def seg(value: str) -> str:
    """Encode one path segment (ids may contain ``/`` e.g. endpoint ``PJSIP/1001`` or device names)."""
    return value if _PLAIN_SEGMENT.fullmatch(value) else quote(value, safe="")


def query_string(params: Params | None) -> str:
    """``key=value&…`` for ARI: None left out, lower-case booleans (str(True) would be "True"), values
    %-encoded but for QUERY_SAFE (the keys are ARI's own parameter names)."""
    parts = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        parts.append(f"{key}={text if _PLAIN_VALUE.fullmatch(text) else quote(text, safe=QUERY_SAFE)}")
    return "&".join(parts)


class AriHttp:
    def __init__(self, base_url: str, user: str, password: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/") + "/ari"
        # Built once; never logged.
        headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        self._client = Http1Client(self.base_url, headers, timeout=timeout)

    async def close(self) -> None:
        await self._client.close()

    async def _send(self, method: str, path: str, params: Params | None, body: Mapping[str, Any] | None) -> Answer:
        target = path
        if query := query_string(params):
            target += "?" + query
        data = orjson.dumps(body) if body is not None else None
        try:
            return await self._client.request(method, target, data, "application/json" if data is not None else "")
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            # refused, reset, timed out, cut short, garbled: Asterisk is not answering (properly)
            raise AriUnavailable(f"{type(exc).__name__}: {exc}", method=method, path=path) from exc

    async def request_bytes(self, method: str, path: str) -> bytes:
        """A request whose 2xx body is binary (e.g. a stored recording's audio file)."""
        answer = await self._send(method, path, None, None)
        if 200 <= answer.status < 300:
            return answer.body
        text = answer.body.decode("utf-8", errors="replace")
        raise error_for_status(answer.status, _message(text, answer.reason), method=method, path=path)

    async def request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one request; returns the decoded JSON (None for 204 or an empty body) or raises an ``AriError``."""
        answer = await self._send(method, path, params, body)
        if 200 <= answer.status < 300:
            if not answer.body:
                return None
            try:
                return orjson.loads(answer.body)
            except orjson.JSONDecodeError as exc:
                raise AriUnavailable(f"not JSON: {answer.body[:80]!r}", method=method, path=path) from exc
        text = answer.body.decode("utf-8", errors="replace")
        raise error_for_status(answer.status, _message(text, answer.reason), method=method, path=path)


def _message(text: str, reason: str | None) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:200] or (reason or "")
    if isinstance(data, Mapping):
        return str(data.get("message") or data.get("error") or reason or "")
    return reason or ""
