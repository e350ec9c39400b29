"""What an Asterisk says over ARI, asked the plainest way (urllib, no proxy, basic auth from ``[asterisk]``): the
e2e tests and benches look with it, apart from the client under test (tvoxcc.ari)."""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any

from tvoxcc.config import AsteriskSettings


def ari_json(ari_url: str, asterisk: AsteriskSettings, path: str, method: str = "GET") -> Any:
    """The JSON Asterisk at ``ari_url`` answers to ``method /ari/path``, or None (no body); an error status raises."""
    token = base64.b64encode(f"{asterisk.ari_user}:{asterisk.ari_password.get_secret_value()}".encode()).decode()
    request = urllib.request.Request(
        f"{ari_url}/ari/{path.lstrip('/')}", method=method, headers={"Authorization": f"Basic {token}"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=5) as response:
        body = response.read()
    return json.loads(body) if body else None
