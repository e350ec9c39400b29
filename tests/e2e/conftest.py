"""The real lab Asterisk for e2e tests: one per test session, on free loopback ports, in a temp state dir.

Fixture ``lab`` (session) yields a ``LabHandle``:
  .settings      tvoxcc Settings (ports, credentials; asterisk.config_dir = the lab root's etc/asterisk)
  .config_path   the tvoxcc.toml (run the CLI with TVOXCC_CONFIG=config_path; sqlite database next to it)
  .state_dir     the lab's state dir (root/, asterisk.pid, asterisk.out)
  .agents/.dids  the test agent phones and DIDs rendered at start (AGENTS, DIDS below)
  .reload(inp)   render ``inp`` (default: the current input) into the lab and reload Asterisk over AMI
  .down() / .up()  stop the lab's Asterisk (PID file) / start it again with the current input
  .render_input(agents=, dids=)  a RenderInput on the lab's settings
  .ari(path) / .channels() / .endpoint(resource)  what Asterisk sees, over ARI (plain urllib)
  .log_mark() / .log_since(mark)  Asterisk's "full" log from a point on
  .sipp          a tvoxcc.lab.sipp.Sipp aimed at the lab (caller calls, agent phones)
Fixture ``sipp`` (function) gives a fresh Sipp whose leftover processes are killed after the test.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.components import component_missing, require_program
from tests.e2e.ari_http import ari_json
from tvoxcc.asterisk.inputs import AgentPhone, Did, RenderInput
from tvoxcc.asterisk.reload import reload_asterisk
from tvoxcc.config import Settings, load_settings
from tvoxcc.lab.config import write_lab_config
from tvoxcc.lab.lab import Lab
from tvoxcc.lab.sipp import Sipp

LAB_CACHE = Path(os.environ.get("TVOXCC_LAB_CACHE", "/var/cache/tvoxcc-lab"))

PASSWORD = secrets.token_hex(8)
AGENTS = (
    AgentPhone("acme", "alice", "1001", PASSWORD, "Alice Acme"),
    AgentPhone("acme", "bob", "1002", PASSWORD, "Bob Acme"),
    AgentPhone("beta", "carol", "1001", PASSWORD, "Carol Beta"),
)
DIDS = (Did("5551000", "acme", "sales"), Did("5552000", "beta", "support"))


@dataclass
class LabHandle:
    settings: Settings
    config_path: Path
    state_dir: Path
    lab: Lab
    agents: tuple[AgentPhone, ...] = AGENTS
    dids: tuple[Did, ...] = DIDS
    current: RenderInput | None = None
    sipp: Sipp = field(init=False)

    def __post_init__(self) -> None:
        self.sipp = Sipp(self.settings.asterisk.sip_host, self.settings.asterisk.sip_port)

    def render_input(
        self, agents: tuple[AgentPhone, ...] | None = None, dids: tuple[Did, ...] | None = None
    ) -> RenderInput:
        return RenderInput.from_settings(
            self.settings, self.agents if agents is None else agents, self.dids if dids is None else dids
        )

    def reload(self, inp: RenderInput | None = None) -> None:
        self.current = inp or self.current or self.render_input()
        self.lab.render(self.current)
        reload_asterisk(self.settings.asterisk)

    def down(self) -> int | None:
        """Stop the lab's Asterisk (PID file); returns the PID stopped."""
        return self.lab.down()

    def up(self) -> int:
        """Start it again with the current configs (the root is reused); returns the new PID."""
        return self.lab.up(self.current)

    def ari(self, path: str, method: str = "GET") -> Any:
        return ari_json(self.settings.asterisk.ari_url, self.settings.asterisk, path, method)

    def channels(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.ari("channels")
        return result

    def endpoint(self, resource: str, tech: str = "PJSIP") -> dict[str, Any]:
        result: dict[str, Any] = self.ari(f"endpoints/{tech}/{urllib.parse.quote(resource)}")
        return result

    @property
    def full_log(self) -> Path:
        return self.lab.full_log

    def log_mark(self) -> int:
        return self.full_log.stat().st_size if self.full_log.exists() else 0

    def log_since(self, mark: int) -> str:
        with self.full_log.open("rb") as handle:
            handle.seek(mark)
            return handle.read().decode("utf-8", "replace")

    def env(self) -> dict[str, str]:
        """Environment for running the `tvoxcc` CLI as a subprocess against this lab."""
        return {**os.environ, "TVOXCC_CONFIG": str(self.config_path)}


@pytest.fixture(scope="session")
def lab() -> Iterator[LabHandle]:
    if os.geteuid() != 0:
        component_missing("the lab Asterisk needs root (debootstrap, chroot)")
    for tool in ("sipp", "chroot", "zstd", "debootstrap"):
        require_program(tool, "scripts/system-deps.sh installs it")
    base = Path(tempfile.mkdtemp(prefix="tvoxcc-lab-"))
    base.chmod(0o755)  # Asterisk drops to its own user: every directory on the path must be traversable
    handle = start_lab(base)
    yield handle
    handle.sipp.cleanup()
    handle.lab.down()
    if not os.environ.get("TVOXCC_KEEP_LAB"):
        shutil.rmtree(base, ignore_errors=True)


def start_lab(base: Path) -> LabHandle:
    """The lab in ``base``, started and migrated.

    Everything it needs is installed by now, so an error here is a bug (in tvoxcc/lab or the setup): the lab is
    stopped, ``base`` removed and the error raised as is — it fails every test that needs the lab, never skips.
    """
    instance: Lab | None = None
    try:
        state_dir = base / "lab"
        config_path = write_lab_config(base, state_dir, LAB_CACHE)
        settings = load_settings(config_path)
        instance = Lab(settings, state_dir)
        handle = LabHandle(settings, config_path, state_dir, instance)
        handle.current = handle.render_input()
        instance.up(handle.current)
        _migrate(settings)
    except BaseException:
        if instance is not None:
            instance.down()
        shutil.rmtree(base, ignore_errors=True)
        raise
    return handle


def _migrate(settings: Settings) -> None:
    """Give the lab's sqlite database the schema, so CLI runs against config_path work at once."""
    from tvoxcc.store.migrate import upgrade

    upgrade(settings.database.url.get_secret_value())


@pytest.fixture
def sipp(lab: LabHandle) -> Iterator[Sipp]:
    phones = Sipp(lab.settings.asterisk.sip_host, lab.settings.asterisk.sip_port)
    yield phones
    phones.cleanup()
