"""The one place ARI HTTP happens: base URL, basic auth, parameter encoding, error mapping.

Credentials go in an ``Authorization: Basic`` header built by aiohttp from the raw password,
so any character (``@ : / % #`` ...) works without URL-encoding games, and they never appear
in a URL that could be logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from tvoxcc.ari.errors import AriUnavailable, error_for_status

log = logging.getLogger(__name__)

Params = Mapping[str, str | int | float | bool | None]


def seg(value: str) -> str:
    """Encode one path segment (ids may contain ``/`` e.g. endpoint ``PJSIP/1001`` or device names)."""
    return quote(value, safe="")


def _encode(params: Params | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        # ARI wants lower-case booleans; str(True) would be "True".
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


class AriHttp:
    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        *,
        timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/ari"
        # Built once; never logged (aiohttp does not log request headers).
        self._headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._own_session = session is None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._own_session = True
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None and not self._session.closed:
            await self._session.close()

    async def request_bytes(self, method: str, path: str) -> bytes:
        """A request whose 2xx body is binary (e.g. a stored recording's audio file)."""
        url = self.base_url + path
        try:
            async with self.session.request(method, url, headers=self._headers, timeout=self._timeout) as resp:
                body = await resp.read()
                if 200 <= resp.status < 300:
                    return body
                text = body.decode("utf-8", errors="replace")
                raise error_for_status(resp.status, _message(text, resp.reason), method=method, path=path)
        except (TimeoutError, aiohttp.ClientConnectionError, OSError) as exc:
            raise AriUnavailable(f"{type(exc).__name__}: {exc}", method=method, path=path) from exc

    async def request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one request; returns the decoded JSON (None for 204) or raises an ``AriError``."""
        url = self.base_url + path
        try:
            async with self.session.request(
                method, url, params=_encode(params), json=body, headers=self._headers, timeout=self._timeout
            ) as resp:
                if resp.status == 204:
                    return None
                text = await resp.text()
                if 200 <= resp.status < 300:
                    if not text:
                        return None
                    return await resp.json(content_type=None)
                raise error_for_status(resp.status, _message(text, resp.reason), method=method, path=path)
        except (TimeoutError, aiohttp.ClientConnectionError, OSError) as exc:
            # ClientConnectorError (refused), ServerDisconnectedError, timeouts: Asterisk is not answering.
            raise AriUnavailable(f"{type(exc).__name__}: {exc}", method=method, path=path) from exc


def _message(text: str, reason: str | None) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:200] or (reason or "")
    if isinstance(data, Mapping):
        return str(data.get("message") or data.get("error") or reason or "")
    return reason or ""
