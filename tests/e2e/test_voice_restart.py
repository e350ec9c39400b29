"""Killing the voice service with SIGKILL while 20 callers are in the IVR loses none of them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Tvox
from tests.e2e.voice import interactions, path_of, wait_until_ended
from tvoxcc.lab.sipp import caller_scenario

pytestmark = pytest.mark.asterisk

DATA = Path(__file__).parents[1] / "data"
CALLERS = 20


def start_voice(lab: Any, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tvoxcc", "voice", "run"],
        env=lab.env(),
        stdin=subprocess.DEVNULL,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_ready(log: Path, times: int, within: float = 15.0) -> None:
    # Asterisk lists an app in /applications even with no websocket connected (an earlier run, a
    # SIGKILL): the service's own "ready" line is the only sure sign that it listens.
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().count("voice service ready") >= times:
            return
        time.sleep(0.1)
    raise AssertionError(f"voice service not ready after {within}s\n{log.read_text()[-3000:]}")


@pytest.fixture
def hold_flow(lab: Any) -> Iterator[Tvox]:
    tvox = Tvox(lab.config_path)
    tvox.ok("import", str(DATA / "e2e-acme.yaml"))
    tvox.ok("ivr", "set", "acme", "sales", str(DATA / "hold-ivr.yaml"))
    tvox.ok("prompts", "render", "-t", "acme", "--out", str(lab.state_dir / "root/usr/share/asterisk/sounds"))
    yield tvox
    tvox.ok("import", str(DATA / "e2e-acme.yaml"))  # the other voice tests' flow again


async def test_sigkill_with_20_callers_in_the_ivr(lab: Any, sipp: Any, hold_flow: Tvox, tmp_path: Path) -> None:
    log = tmp_path / "voice.log"
    before = len(await interactions(lab.settings))
    voice = start_voice(lab, log)
    try:
        wait_ready(log, 1)
        callers = sipp.start(
            caller_scenario("5551000", wait_ms=16000, hangup="us"), service="5551000", timeout_s=60, calls=CALLERS
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            rows = (await interactions(lab.settings))[before:]
            if len(rows) == CALLERS and all("main" in path_of(r) for r in rows):
                break
            await asyncio.sleep(0.2)
        assert len(rows) == CALLERS, log.read_text()[-3000:]

        os.killpg(voice.pid, signal.SIGKILL)
        voice.wait(5)
        in_stasis = [c for c in lab.channels() if c["name"].startswith("PJSIP/caller-")]
        assert len(in_stasis) == CALLERS  # Asterisk kept every caller while we were gone

        voice = start_voice(lab, log)
        wait_ready(log, 2)
        assert f"{CALLERS} call(s) resumed" in log.read_text()
        finished = await asyncio.to_thread(callers.wait, 60)
        rows = (await wait_until_ended(lab.settings, len(await interactions(lab.settings)) - before))[before:]
    finally:
        if voice.poll() is None:
            os.killpg(voice.pid, signal.SIGTERM)
            voice.wait(10)

    # Every caller hung up by itself at the end of its scenario: none was hung up by us or by Asterisk.
    finished.check()
    assert len(rows) == CALLERS, "a resumed call must keep its interaction, not open a new one"
    for row in rows:
        kinds = [kind for kind, _ in row["events"]]
        assert "resumed" in kinds, row
        assert path_of(row).count("main") == 2  # the menu again after the restart
        assert row["ended"] and row["outcome"] == "abandoned-in-ivr"
    assert "resuming channel" in log.read_text()
