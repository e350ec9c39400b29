"""The recordings repository through the CLI, on SQLite and PostgreSQL, with real WAV files (sox)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Tvox
from tests.recording_files import ids_of, make_wav, meta, soxi_seconds, store_recording
from tvoxcc.recordings.crypto import MAGIC

NOW = datetime.now(UTC)


def _acme(tvox: Tvox, extra_config: str = "") -> dict[str, int]:
    if extra_config:
        with tvox.config.open("a") as config:
            config.write(extra_config)
    tvox.ok("tenant", "add", "acme")
    tvox.ok("service", "add", "-t", "acme", "sales", "--channel", "voice")
    for queue in ("q1", "q2"):
        tvox.ok("queue", "add", "-t", "acme", queue, "--service", "sales")
    for agent, ext in (("alice", "101"), ("bob", "102")):
        tvox.ok("agent", "add", "-t", "acme", agent, "--extension", ext)
    return ids_of(tvox, "acme")


def _list(tvox: Tvox, *args: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(tvox.ok("recording", "list", "-t", "acme", "--json", *args))
    return rows


def test_list_filters_show_export_and_delete(tvox_any: Tvox, tmp_path: Path) -> None:
    tvox = tvox_any
    ids = _acme(tvox)
    long_call = make_wav(tmp_path / "long.wav", 12.5)
    short_call = make_wav(tmp_path / "short.wav", 2.0, 880)
    first = store_recording(
        tvox, "acme", long_call, meta(ids, NOW - timedelta(hours=5), queue="q1", agent="alice", number="+390211112222")
    )
    second = store_recording(
        tvox, "acme", short_call, meta(ids, NOW - timedelta(hours=1), queue="q2", agent="bob", number="+390233334444")
    )

    rows = _list(tvox)
    assert [r["id"] for r in rows] == [second, first]  # newest first
    assert rows[1]["duration_s"] == pytest.approx(soxi_seconds(long_call), abs=0.01)
    assert rows[1]["size_bytes"] == long_call.stat().st_size
    assert rows[1]["sha256"] == hashlib.sha256(long_call.read_bytes()).hexdigest()
    assert (rows[1]["queue"], rows[1]["agent"], rows[1]["encrypted"]) == ("q1", "alice", False)
    assert [r["id"] for r in _list(tvox, "--queue", "q1")] == [first]
    assert [r["id"] for r in _list(tvox, "--agent", "bob")] == [second]
    assert [r["id"] for r in _list(tvox, "--number", "2222")] == [first]
    assert [r["id"] for r in _list(tvox, "--min-duration", "10")] == [first]
    assert [r["id"] for r in _list(tvox, "--since", "3h")] == [second]
    assert [r["id"] for r in _list(tvox, "--until", "3h")] == [first]
    assert _list(tvox, "--agent", "nobody") == []
    assert "alice" in tvox.ok("recording", "list", "-t", "acme")

    shown = json.loads(tvox.ok("recording", "show", "-t", "acme", str(first), "--json"))
    assert shown["number"] == "+390211112222"
    out = tmp_path / "exported.wav"
    tvox.ok("recording", "export", "-t", "acme", str(first), "--out", str(out))
    assert out.read_bytes() == long_call.read_bytes()
    assert soxi_seconds(out) == pytest.approx(12.5, abs=0.01)
    assert "exists" in tvox.fails("recording", "export", "-t", "acme", str(first), "--out", str(out))

    files = list((tmp_path / "data" / "recordings").rglob("*.wav"))
    assert len(files) == 2
    tvox.ok("recording", "delete", "-t", "acme", str(second))
    assert [r["id"] for r in _list(tvox)] == [first]
    assert len(list((tmp_path / "data" / "recordings").rglob("*.wav"))) == 1
    assert tvox.fails("recording", "show", "-t", "acme", str(second)).strip() == f"error: no recording {second}"
    assert "unknown tenant" in tvox.fails("recording", "list", "-t", "nope")

    actions = [
        (r["action"], r["subject"])
        for r in json.loads(tvox.ok("audit", "list", "--json", "--action", "recording.export"))
    ]
    assert actions == [("recording.export", f"recording {first}")]
    assert len(json.loads(tvox.ok("audit", "list", "--json", "--action", "recording.delete"))) == 1
    tvox.ok("audit", "verify")


def test_encryption_at_rest_round_trip(tvox_any: Tvox, tmp_path: Path) -> None:
    tvox = tvox_any
    key_file = tmp_path / "acme.key"
    key_file.write_text(tvox.ok("recording", "new-key"))
    ids = _acme(tvox, f'\n[recordings.tenants.acme]\nkey_file = "{key_file}"\n')
    audio = make_wav(tmp_path / "call.wav", 4.0)
    rid = store_recording(tvox, "acme", audio, meta(ids, NOW, queue="q1", agent="alice"))

    (stored,) = list((tmp_path / "data" / "recordings").rglob("*.enc"))
    blob = stored.read_bytes()
    assert blob.startswith(MAGIC) and audio.read_bytes()[44:1000] not in blob
    with pytest.raises(subprocess.CalledProcessError):
        soxi_seconds(stored)  # not a valid audio file on disk
    row = _list(tvox)[0]
    assert row["encrypted"] is True and row["duration_s"] == pytest.approx(4.0, abs=0.01)

    out = tmp_path / "out.wav"
    tvox.ok("recording", "export", "-t", "acme", str(rid), "--out", str(out))
    assert out.read_bytes() == audio.read_bytes()
    assert soxi_seconds(out) == pytest.approx(4.0, abs=0.01)

    key_file.write_text(base64.b64encode(b"k" * 32).decode())  # the wrong key
    message = tvox.fails("recording", "export", "-t", "acme", str(rid), "--out", str(tmp_path / "x.wav"))
    assert message.strip() == "error: the key does not open this recording, or the file was altered"
    assert base64.b64encode(b"k" * 32).decode() not in message
    key_file.write_text("short")
    assert "not base64 of 32 bytes" in tvox.fails(
        "recording", "export", "-t", "acme", str(rid), "--out", str(tmp_path / "y.wav")
    )
    assert not (tmp_path / "x.wav").exists()


def test_retention_purges_past_days_and_keeps_held(tvox_any: Tvox, tmp_path: Path) -> None:
    tvox = tvox_any
    ids = _acme(tvox, "\n[recordings]\nretention_days = 30\n")
    audio = make_wav(tmp_path / "call.wav", 1.5)
    old = store_recording(tvox, "acme", audio, meta(ids, NOW - timedelta(days=40), queue="q1"))
    old_held = store_recording(tvox, "acme", audio, meta(ids, NOW - timedelta(days=41), queue="q1"))
    recent = store_recording(tvox, "acme", audio, meta(ids, NOW - timedelta(days=10), queue="q1"))
    tvox.ok("recording", "hold", "-t", "acme", str(old_held), "--reason", "case 42")
    assert [r["id"] for r in _list(tvox, "--held")] == [old_held]
    assert "legal hold" in tvox.fails("recording", "delete", "-t", "acme", str(old_held))

    purged = json.loads(tvox.ok("recording", "purge", "--json"))
    assert purged == [{"tenant": "acme", "days": 30, "deleted": 1, "held": 1}]
    assert sorted(r["id"] for r in _list(tvox)) == sorted([old_held, recent])
    assert len(list((tmp_path / "data" / "recordings").rglob("*.wav"))) == 2
    assert old not in [r["id"] for r in _list(tvox)]

    tvox.ok("recording", "release", "-t", "acme", str(old_held))
    assert "purged 1 recordings past retention" in tvox.ok("insight", "run", "--once")
    assert [r["id"] for r in _list(tvox)] == [recent]
    rows = json.loads(tvox.ok("audit", "list", "--json", "-t", "acme"))
    assert [r["action"] for r in rows if r["action"].startswith("recording.")] == [
        "recording.hold",
        "recording.purge",
        "recording.release",
        "recording.purge",
    ]
    assert rows[-1]["actor"] == "system:retention"
    tvox.ok("audit", "verify")


def test_queue_recording_policy(tvox: Tvox) -> None:
    tvox.ok("tenant", "add", "acme")
    tvox.ok("service", "add", "-t", "acme", "sales", "--channel", "voice")
    tvox.ok(
        "queue",
        "add",
        "-t",
        "acme",
        "q1",
        "--service",
        "sales",
        "--recording",
        "sampled",
        "--recording-sample-percent",
        "20",
    )
    shown = json.loads(tvox.ok("queue", "show", "-t", "acme", "q1", "--json"))
    assert (shown["recording"], shown["recording_sample_percent"]) == ("sampled", 20)
    assert "recording_sample_percent" in tvox.fails(
        "queue", "set", "-t", "acme", "q1", "--recording-sample-percent", "0"
    )
    tvox("queue", "set", "-t", "acme", "q1", "--recording", "bogus")  # click refuses the choice
    assert json.loads(tvox.ok("queue", "show", "-t", "acme", "q1", "--json"))["recording"] == "sampled"
