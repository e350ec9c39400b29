"""An agent added with the CLI becomes a registrable PJSIP endpoint after `tvoxcc asterisk reload`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli import Tvox
from tvoxcc.lab.sipp import Sipp, SippAgent

pytestmark = pytest.mark.asterisk


@pytest.fixture
def restore_lab(lab: Any) -> Iterator[Any]:
    yield lab
    lab.reload()  # back to the test agents and DIDs the other e2e tests expect


def test_cli_agent_registers_after_reload(restore_lab: Any, sipp: Sipp) -> None:
    lab = restore_lab
    tvox = Tvox(lab.config_path)
    tvox.ok("tenant", "add", "delta")
    try:
        tvox.ok("agent", "add", "-t", "delta", "dave", "--extension", "2001", "--display-name", "Dave Delta")
        tvox.ok("agent", "password", "-t", "delta", "dave", "--new", "dave-secret-1")
        assert lab.ari("endpoints/PJSIP")  # Asterisk answers; dave is not there yet
        assert "delta-dave" not in [e["resource"] for e in lab.ari("endpoints/PJSIP")]
        result = tvox("asterisk", "reload")
        assert result.exit_code == 0, result.output
        assert lab.endpoint("delta-dave")["state"] == "offline"
        assert SippAgent(sipp, "delta-dave", "wrong-password").register().returncode != 0
        assert lab.endpoint("delta-dave")["state"] == "offline"
        agent = SippAgent(sipp, "delta-dave", "dave-secret-1")
        agent.register().check()
        assert lab.endpoint("delta-dave")["state"] == "online"
        agent.unregister().check()
    finally:
        tvox.ok("agent", "remove", "-t", "delta", "dave")
        tvox.ok("tenant", "remove", "delta")
