"""Is the lab's Asterisk answering? Plain urllib with basic auth: no event loop, usable from any caller."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

from tvoxcc.config import AsteriskSettings


def ari_info(asterisk: AsteriskSettings, timeout: float = 2.0) -> dict[str, Any] | None:
    """GET /ari/asterisk/info; None while ARI is not (yet) answering with 200."""
    credentials = f"{asterisk.ari_user}:{asterisk.ari_password.get_secret_value()}".encode()
    request = urllib.request.Request(
        f"{asterisk.ari_url}/ari/asterisk/info",
        headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
    )
    # No proxy: ARI is local, and an http_proxy from the environment must not see its credentials.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None
