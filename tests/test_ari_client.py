"""ARI REST semantics against a tiny aiohttp stand-in: auth header, parameter encoding, status mapping."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from aiohttp import web

from tests.ari_stand_in import ari_stand_in
from tvoxcc.ari import (
    AriAuthError,
    AriClient,
    AriServerError,
    AriUnavailable,
    ChannelGone,
    Conflict,
    InvalidRequest,
    NotFound,
    PreconditionFailed,
)
from tvoxcc.ari.rest import QUERY_SAFE, query_string, seg

PASSWORD = "p@ss:w/rd%&#?é ü"  # every character that broke aioari's api_key


class Fake:
    def __init__(self) -> None:
        self.requests: list[web.Request] = []
        self.bodies: list[bytes] = []
        self.auth_ok: list[bool] = []
        self.status = 200
        self.body: Any = {}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request)
        self.bodies.append(await request.read())
        header = request.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"tvoxcc:{PASSWORD}".encode()).decode()
        self.auth_ok.append(header == expected)
        if header != expected:
            return web.json_response({"message": "Authentication required"}, status=401)
        if self.status == 204:
            return web.Response(status=204)
        return web.json_response(self.body, status=self.status)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[Fake, AriClient]]:
    f = Fake()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", f.handle)
    async with ari_stand_in(app, PASSWORD) as client:
        yield f, client


async def test_channel_get_parses_model_and_sends_basic_auth(fake: tuple[Fake, AriClient]) -> None:
    f, client = fake
    f.body = {
        "id": "1700000000.1",
        "name": "PJSIP/caller-00000001",
        "state": "Ring",
        "caller": {"name": "Alice", "number": "+390612345"},
        "connected": {"name": "", "number": ""},
        "dialplan": {"context": "from-trunk", "exten": "800", "priority": 2, "app_name": "Stasis"},
        "creationtime": "2025-01-02T03:04:05.678+0000",
        "language": "en",
    }
    ch = await client.channels.get("1700000000.1")
    assert f.auth_ok == [True]
    assert f.requests[0].path == "/ari/channels/1700000000.1"
    assert ch.caller.number == "+390612345"
    assert ch.dialplan.exten == "800" and ch.dialplan.priority == 2
    assert ch.creationtime is not None and ch.creationtime.utcoffset() is not None


async def test_params_are_encoded_for_ari(fake: tuple[Fake, AriClient]) -> None:
    f, client = fake
    f.body = {"id": "pb1", "media_uri": "sound:hello-world", "state": "queued"}
    pb = await client.channels.play("a/b", ["sound:hello-world", "digits:12"], lang="it")
    req = f.requests[-1]
    assert req.raw_path.startswith("/ari/channels/a%2Fb/play")
    assert req.query["media"] == "sound:hello-world,digits:12"
    assert req.query["lang"] == "it"
    assert "playbackId" not in req.query  # None is dropped, not sent as "None"
    assert pb.id == "pb1"
    f.body = {"name": "rec1", "format": "wav", "state": "queued"}
    await client.channels.record("c1", "rec1", beep=True)
    assert f.requests[-1].query["beep"] == "true"  # lower-case booleans


async def test_originate_defaults_to_our_app_and_sends_variables(fake: tuple[Fake, AriClient]) -> None:
    f, client = fake
    f.body = {"id": "out-1", "state": "Down"}
    ch = await client.channels.originate("PJSIP/1001", variables={"TENANT": "acme"})
    req = f.requests[-1]
    assert req.method == "POST" and req.query["app"] == "tvoxcc" and req.query["endpoint"] == "PJSIP/1001"
    assert json.loads(f.bodies[-1]) == {"variables": {"TENANT": "acme"}}
    assert ch.id == "out-1"


async def test_get_variable_and_204(fake: tuple[Fake, AriClient]) -> None:
    f, client = fake
    f.body = {"value": "pong"}
    assert await client.channels.get_variable("c1", "TVOXCC_PING") == "pong"
    f.status = 204
    await client.channels.answer("c1")  # a 204: no body to read, no error


@pytest.mark.parametrize(
    ("status", "path_kind", "exc"),
    [
        (404, "channel", ChannelGone),
        (404, "bridge", NotFound),
        (409, "channel", Conflict),
        (412, "channel", PreconditionFailed),
        (422, "channel", InvalidRequest),
        (500, "channel", AriServerError),
        (503, "bridge", AriServerError),
    ],
)
async def test_status_mapping(fake: tuple[Fake, AriClient], status: int, path_kind: str, exc: type[Exception]) -> None:
    f, client = fake
    f.status = status
    f.body = {"message": "Channel not found"}
    with pytest.raises(exc) as info:
        if path_kind == "channel":
            await client.channels.answer("gone")
        else:
            await client.bridges.get("nope")
    assert "Channel not found" in str(info.value)
    assert getattr(info.value, "status", None) == status


async def test_channel_gone_is_a_not_found(fake: tuple[Fake, AriClient]) -> None:
    f, client = fake
    f.status = 404
    with pytest.raises(NotFound):
        await client.channels.hangup("gone")


async def test_wrong_password_is_auth_error_without_secret_in_message(fake: tuple[Fake, AriClient]) -> None:
    _, client = fake
    bad = AriClient(client.ari_url, "tvoxcc", "wrong-secret", "tvoxcc")
    try:
        with pytest.raises(AriAuthError) as info:
            await bad.asterisk.info()
    finally:
        await bad.close()
    assert "wrong-secret" not in str(info.value) and "wrong-secret" not in repr(bad)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_connection_refused_is_unavailable() -> None:
    client = AriClient(f"http://127.0.0.1:{_free_port()}", "u", "p", "app", timeout=2)
    try:
        with pytest.raises(AriUnavailable):
            await client.asterisk.ping()
    finally:
        await client.close()


async def test_stored_recording_file_is_bytes(fake: tuple[Fake, AriClient]) -> None:
    f, client = fake
    f.body = "RIFF-audio"  # json-encoded by the fake; we only check the raw bytes pass through
    data = await client.recordings.stored_file("vm/1")
    assert f.requests[-1].raw_path == "/ari/recordings/stored/vm%2F1/file"
    assert data == b'"RIFF-audio"'
    f.status = 404
    with pytest.raises(NotFound):
        await client.recordings.stored_file("gone")


@pytest.mark.parametrize(
    "params",
    [
        {"endpoint": "PJSIP/bench-a001", "app": "tvoxcc", "appArgs": "agent,acme/q1", "timeout": 15},
        {"media": "sound:hello-world,digits:12", "lang": "it", "beep": True, "skip": None, "ok": False},
        {"callerId": '"Ann Bee" <+39 06 123>', "variables": "a=b&c", "x": "100%", "y": "ü+é?#", "z": ""},
    ],
)
def test_the_query_string_is_what_urlencode_would_send(params: dict[str, str | int | bool | None]) -> None:
    """The fast path (values sent as they are when quote would leave them so) changes no byte of a request."""
    kept = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items() if v is not None}
    assert query_string(params) == urlencode(kept, safe=QUERY_SAFE, quote_via=quote)
    for value in (str(v) for v in params.values()):
        assert seg(value) == quote(value, safe="")
