"""bench/failover.py --cut: the same takeover on the redundant namespace topology, after a SIGKILL or a network cut.

`voice run` on main (active) and main2 (standby), each in its own network namespace; PostgreSQL in db's; the
calls on main2's Asterisk node behind Kamailio (tests/e2e/pair.py). A round: CALLERS callers wait while the
agent is paused; main's service is SIGKILLed, or main's network cut (its veth down inside its namespace); the
agent is unpaused; the takeover ends as bench/failover.py's does (main2's first routing decision committed and
its "voice service ready"). Then the calls end, main's network comes back (its cut service must have exited 3
meanwhile: it stopped acting, still cut) and main becomes the active one again by a clean handover.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from _failover_rounds import FailoverRounds, Service, wait_log

from tests.e2e.pair import Pair, redundant_pair, stop_voice_run
from tvoxcc.acd import InputKind
from tvoxcc.asterisk.inputs import AgentPhone, Did
from tvoxcc.lab.sipp import SippAgent
from tvoxcc.voice.acd_base import EXIT_LEASE_LOST

STARTUP_S = 90.0  # a `voice run` in a namespace, on PostgreSQL across the bridge: its start takes longer


class PairBench(FailoverRounds):
    def __init__(self, *, tenant_yaml: str, tenant: str, did: str, agent: str, password: str, callers: int) -> None:
        super().__init__(agent, callers)
        self.base = Path(tempfile.mkdtemp(prefix="tvoxcc-bench-failover-cut-"))
        self.base.chmod(0o755)  # Asterisk drops to its own user: every directory on the path must be traversable
        self.tenant_yaml, self.tenant, self.did, self.password = tenant_yaml, tenant, did, password
        self.stack = contextlib.ExitStack()
        self.services: dict[str, Service] = {}  # host -> its voice run
        self.started = 0

    def up(self, lab_cache: Path, lease_s: float) -> None:
        name = self.agent.removeprefix(f"{self.tenant}-")
        phone = AgentPhone(self.tenant, name, "2001", self.password, name)
        self.pair: Pair = self.stack.enter_context(
            redundant_pair(
                self.base, (phone,), (Did(self.did, self.tenant, "voice"),), lab_cache=lab_cache, lease_s=lease_s,
                say=lambda m: print(f"lab: {m}", flush=True),
            )
        )  # fmt: skip
        (self.base / "bench.yaml").write_text(self.tenant_yaml)
        self.pair.tvox.ok("import", str(self.base / "bench.yaml"))
        self.phone = SippAgent(self.pair.sipp, self.agent, self.password)
        self.phone.register().check()
        self.services["main"] = self.start_voice("main")
        wait_log(self.services["main"], "voice service ready", STARTUP_S)
        self.services["main2"] = self.start_voice("main2")
        wait_log(self.services["main2"], "waits as a standby", STARTUP_S)

    def start_voice(self, host: str) -> Service:
        self.started += 1
        log = self.base / f"voice-{self.started}-{host}.log"
        return self.pair.voice_run(host, log), log

    # -- the store and Asterisk, as seen from the machine --------------------------------------------------

    def rows(self, sql: str) -> int:
        server = self.pair.postgres
        done = subprocess.run(
            ["psql", "-h", server.address, "-p", str(server.port), "-U", "postgres", "-d", "postgres", "-Atc", sql],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return int(done.stdout.strip())

    def database_url(self) -> str:
        return self.pair.settings.database.url.get_secret_value()

    def ari(self, path: str, method: str = "GET") -> Any:
        return self.pair.ari(path, method)

    def callers(self) -> list[str]:
        return [c["id"] for c in self.pair.ari("channels") if not c["name"].startswith(f"PJSIP/{self.agent}-")]

    # -- one round -------------------------------------------------------------------------------------------

    def fail_over(self, *, cut: bool) -> tuple[float, int]:
        """SIGKILL main's active service, or cut main's network, with CALLERS callers waiting: (takeover s, lost)."""
        self.phone.register().check()  # again each round: Kamailio keeps a registration 600 s at most
        answering, callers = self.callers_waiting(self.phone, self.pair.sipp, self.did)
        active = self.services.pop("main")
        if cut:
            self.pair.set_link("main", up=False)
        else:
            os.killpg(active[0].pid, signal.SIGKILL)
        failed_at = time.monotonic()
        self.ask(InputKind.UNPAUSE)
        took, lost = self.taken_over(self.services["main2"], failed_at, within=120)
        self.end_calls(answering, callers)
        active[0].wait(60)  # cut: it stopped by itself (exit 3), still cut off
        if cut:
            self.pair.set_link("main", up=True)
            if active[0].returncode != EXIT_LEASE_LOST:
                raise RuntimeError(f"the cut voice run ended with {active[0].returncode}, not {EXIT_LEASE_LOST}")
        self.hand_back()
        return took, lost

    def hand_back(self) -> None:
        """main active again: its service started as a standby, main2's stopped cleanly (the lease given up)."""
        self.services["main"] = self.start_voice("main")
        wait_log(self.services["main"], "waits as a standby", STARTUP_S)
        stop_voice_run(self.services.pop("main2")[0])
        wait_log(self.services["main"], "voice service ready", STARTUP_S)
        self.services["main2"] = self.start_voice("main2")
        wait_log(self.services["main2"], "waits as a standby", STARTUP_S)

    def down(self, *, failed: bool = False) -> None:
        for service in self.services.values():
            stop_voice_run(service[0])
        for log in sorted(self.base.glob("voice-*.log")) if failed else ():
            print(f"--- {log.name}, its end:\n{''.join(log.read_text(errors='replace').splitlines(True)[-25:])}")
        with contextlib.suppress(AttributeError):
            self.pair.set_link("main", up=True)
        self.stack.close()
        shutil.rmtree(self.base, ignore_errors=True)
