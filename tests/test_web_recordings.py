"""Recordings on the web, on SQLite and PostgreSQL: list, play, download by role and tenant, audited."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from tests.recording_files import make_wav
from tests.test_web_api import world  # noqa: F401  (fixture)
from tests.web_clients import WEB_SETTINGS, Client, Login, logins
from tests.web_world import NOW, Clock
from tvoxcc import audit
from tvoxcc.config import RecordingSettings, TenantRecordingSettings
from tvoxcc.recordings.repository import RecordingMeta, Repository
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.web.app import build_app


@pytest.fixture
async def recorded(world: Store, tmp_path: Path) -> tuple[Store, Repository, dict[str, int], dict[str, bytes]]:  # noqa: F811
    key = base64.b64encode(b"a" * 32).decode()
    repository = Repository(
        RecordingSettings(tenants={"acme": TenantRecordingSettings(key=SecretStr(key))}), tmp_path / "data"
    )
    audio = {
        name: make_wav(tmp_path / f"{name}.wav", 1.0 + i).read_bytes()
        for i, name in enumerate(("alice", "bob", "carol"))
    }
    ids: dict[str, int] = {}
    async with world.session() as s:
        agents = {a.name: a for a in (await s.execute(select(m.Agent))).scalars()}
    for name, tenant in (("alice", "acme"), ("bob", "acme"), ("carol", "beta")):
        agent = agents[name]
        meta = RecordingMeta(agent.tenant_id, NOW - timedelta(minutes=10), agent_id=agent.id, number="+3902555")
        ids[name] = await repository.store(world, tenant, meta, audio[name])
    return world, repository, ids, audio


@pytest.fixture
async def login_rec(recorded: tuple[Store, Repository, dict[str, int], dict[str, bytes]]) -> AsyncIterator[Login]:
    store, repository = recorded[0], recorded[1]
    app = lambda: build_app(store, WEB_SETTINGS, clock=Clock(), recordings=repository)  # noqa: E731
    async with logins(app, poll_first=True) as login:
        yield login


async def _listed(client: Client, tenant: str, query: str = "") -> tuple[int, Any]:
    response = await client.get(f"/api/tenants/{tenant}/recordings{query}")
    return response.status, (await response.json() if response.status == 200 else None)


async def test_who_lists_and_plays_what(recorded: Any, login_rec: Login) -> None:
    store, _repository, ids, audio = recorded
    sara, al, bea, sue, root, nobody = [await login_rec(u) for u in ("sara", "al", "bea", "sue", "root", None)]

    status, body = await _listed(sara, "acme")
    assert status == 200 and sorted(r["id"] for r in body["recordings"]) == sorted([ids["alice"], ids["bob"]])
    assert {r["agent"]: r["encrypted"] for r in body["recordings"]} == {"alice": True, "bob": True}
    status, body = await _listed(al, "acme")
    assert [r["agent"] for r in body["recordings"]] == ["alice"]
    status, body = await _listed(al, "acme", "?agent=bob")  # an agent cannot widen the filter
    assert [r["agent"] for r in body["recordings"]] == ["alice"]
    assert (await _listed(bea, "acme"))[0] == 404
    assert (await _listed(sue, "acme"))[0] == 403
    assert (await _listed(nobody, "acme"))[0] == 401
    assert [r["agent"] for r in (await _listed(root, "beta"))[1]["recordings"]] == ["carol"]
    assert (await _listed(sara, "acme", "?since=nonsense"))[0] == 400
    assert (await _listed(sara, "acme", "?min_duration=1.5"))[1]["recordings"][0]["agent"] == "bob"

    def audio_path(name: str, tenant: str = "acme") -> str:
        return f"/api/tenants/{tenant}/recordings/{ids[name]}/audio"

    played = await sara.get(audio_path("bob"))
    assert played.status == 200 and played.content_type == "audio/wav"
    assert await played.read() == audio["bob"]  # decrypted for playing
    assert played.headers["Content-Disposition"].startswith("inline")
    fetched = await al.get(audio_path("alice") + "?download=1")
    assert fetched.status == 200 and await fetched.read() == audio["alice"]
    assert fetched.headers["Content-Disposition"] == f'attachment; filename="recording-{ids["alice"]}.wav"'
    assert (await al.get(audio_path("bob"))).status == 404  # another agent's call
    assert (await bea.get(audio_path("alice"))).status == 404  # another tenant
    assert (await bea.get(audio_path("alice", "beta"))).status == 404  # its id, under the own tenant
    assert (await nobody.get(audio_path("alice"))).status == 401
    assert (await root.get(audio_path("carol", "beta"))).status == 200

    async with store.session() as session:
        rows = await audit.entries(session, action=None)
        assert (await audit.verify(session))[1] is None
    listened = [(r["actor"], r["action"], r["subject"]) for r in rows if r["action"].startswith("recording.")]
    assert listened == [
        ("web:sara", "recording.play", f"recording {ids['bob']}"),
        ("web:al", "recording.download", f"recording {ids['alice']}"),
        ("web:root", "recording.play", f"recording {ids['carol']}"),
    ]


async def test_the_page_lists_recordings_with_audio_elements(recorded: Any, login_rec: Login) -> None:
    _store, _repository, ids, _audio = recorded
    al = await login_rec("al")
    page = await al.get("/recordings/acme")
    html = await page.text()
    assert page.status == 200
    assert html.count("<audio ") == 1 and f"/recordings/{ids['alice']}/audio" in html
    assert f"/recordings/{ids['bob']}/audio" not in html
    bea = await login_rec("bea")
    assert (await bea.get("/recordings/acme")).status == 404
    anonymous = await login_rec(None)
    assert (await anonymous.get("/recordings/acme", allow_redirects=False)).status == 302


async def test_byte_ranges_seek_in_plain_and_encrypted_recordings(recorded: Any, login_rec: Login) -> None:
    """A browser seeks with Range: one byte range gets 206 with its Content-Range, for an encrypted recording
    (decrypted in memory: no file in clear appears) as for a plain one; an unsatisfiable one 416 with the size."""
    store, repository, ids, audio = recorded
    sara, root = await login_rec("sara"), await login_rec("root")
    files_before = {p: p.read_bytes() for p in repository.root.rglob("*") if p.is_file()}
    for client, name, tenant in ((sara, "bob", "acme"), (root, "carol", "beta")):
        path, clear = f"/api/tenants/{tenant}/recordings/{ids[name]}/audio", audio[name]
        size = len(clear)
        whole = await client.get(path)
        assert whole.status == 200 and whole.headers["Accept-Ranges"] == "bytes" and await whole.read() == clear
        for asked, (start, end) in {
            "bytes=0-": (0, size),  # what a player asks first
            "bytes=100-199": (100, 200),
            f"bytes={size - 10}-{size + 500}": (size - 10, size),  # past the end: up to the end
            "bytes=-64": (size - 64, size),  # the last 64 bytes
            f"bytes=-{size + 5}": (0, size),
            f"bytes={size - 1}-{size - 1}": (size - 1, size),
        }.items():
            part = await client.get(path, headers={"Range": asked})
            assert part.status == 206, asked
            assert part.headers["Content-Range"] == f"bytes {start}-{end - 1}/{size}", asked
            assert int(part.headers["Content-Length"]) == end - start
            assert await part.read() == clear[start:end], asked
        for asked in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}"):
            refused = await client.get(path, headers={"Range": asked})
            assert refused.status == 416 and refused.headers["Content-Range"] == f"bytes */{size}", asked
        for asked in ("bytes=0-9,20-29", "bytes=9-3", "lines=1-2", "bytes=-0"):  # several, backwards, unit, none
            assert (await client.get(path, headers={"Range": asked})).status == 416, asked
    files_after = {p: p.read_bytes() for p in repository.root.rglob("*") if p.is_file()}
    assert files_after == files_before  # nothing written, the encrypted file included
    encrypted = [data for p, data in files_after.items() if p.suffix == ".enc"]
    assert len(encrypted) == 2 and not any(
        data.startswith(b"RIFF") or audio["bob"][44:200] in data for data in encrypted
    )
    async with store.session() as session:
        rows = [r for r in await audit.entries(session) if r["subject"] == f"recording {ids['bob']}"]
        assert (await audit.verify(session))[1] is None
    assert [r["detail"].get("range") for r in rows][:3] == [None, "bytes=0-", "bytes=100-199"]
