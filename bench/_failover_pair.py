"""bench/failover.py --cut: the same takeover on the redundant namespace topology, after a SIGKILL or a network cut.

`voice run` on main (active) and main2 (standby), each in its own network namespace; PostgreSQL in db's; the
calls on main2's Asterisk node behind Kamailio (tests/e2e/pair.py). A round: CALLERS callers wait while the
agent is paused; main's service is SIGKILLed, or main's network cut (its veth down inside its namespace); the
agent is unpaused; the takeover ends as bench/failover.py's does (main2's first routing decision committed and
its "voice service ready"). Then the calls end, main's network comes back (its cut service must have exited 3
meanwhile: it stopped acting, still cut) and main becomes the active one again by a clean handover.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.e2e.pair import Pair, redundant_pair
from tvoxcc.acd import InputKind, send_input
from tvoxcc.asterisk.inputs import AgentPhone, Did
from tvoxcc.lab.sipp import SippAgent, SippRun, caller_scenario
from tvoxcc.store.engine import Store
from tvoxcc.voice.acd_base import EXIT_LEASE_LOST

Service = tuple[subprocess.Popen[bytes], Path]


class PairBench:
    def __init__(self, *, tenant_yaml: str, tenant: str, did: str, agent: str, password: str, callers: int) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="tvoxcc-bench-failover-cut-"))
        self.base.chmod(0o755)  # Asterisk drops to its own user: every directory on the path must be traversable
        self.tenant_yaml, self.tenant, self.did, self.agent, self.password = tenant_yaml, tenant, did, agent, password
        self.calls = callers
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
        self.wait_log(self.services["main"], "voice service ready")
        self.services["main2"] = self.start_voice("main2")
        self.wait_log(self.services["main2"], "waits as a standby")

    def start_voice(self, host: str) -> Service:
        self.started += 1
        log = self.base / f"voice-{self.started}-{host}.log"
        return self.pair.voice_run(host, log), log

    def wait_log(self, service: Service, text: str, within: float = 90.0) -> None:
        process, log = service
        deadline = time.monotonic() + within
        while text not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"voice run: no {text!r}: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)

    # -- the store and Asterisk, as seen from the machine --------------------------------------------------

    def rows(self, sql: str) -> int:
        server = self.pair.postgres
        done = subprocess.run(
            ["psql", "-h", server.address, "-p", str(server.port), "-U", "postgres", "-d", "postgres", "-Atc", sql],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return int(done.stdout.strip())

    def waiting(self) -> int:
        return self.rows("SELECT count(*) FROM acd_items WHERE channel = 'voice' AND status = 'waiting'")

    def routed(self) -> int:
        return self.rows(
            "SELECT count(*) FROM acd_items WHERE channel = 'voice' AND status IN ('offered', 'connected')"
        )

    def ask(self, kind: InputKind, **payload: Any) -> None:
        async def go() -> None:
            store = Store.from_url(self.pair.settings.database.url.get_secret_value())
            try:
                await send_input(store, kind, agent_id=self.agent, **payload)
            finally:
                await store.dispose()

        asyncio.run(go())

    def callers(self) -> list[str]:
        return [c["id"] for c in self.pair.ari("channels") if not c["name"].startswith(f"PJSIP/{self.agent}-")]

    def until(self, check: Any, what: str, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: not within {within} s")
            time.sleep(0.02)

    # -- one round -------------------------------------------------------------------------------------------

    def fail_over(self, *, cut: bool) -> tuple[float, int]:
        """SIGKILL main's active service, or cut main's network, with CALLERS callers waiting: (takeover s, lost)."""
        self.phone.register().check()  # again each round: Kamailio keeps a registration 600 s at most
        self.ask(InputKind.PAUSE, code="bench")
        self.until(lambda: self.rows(f"SELECT count(*) FROM acd_agents WHERE agent_id = '{self.agent}' "
                                     "AND status = 'paused'") == 1, "the agent paused")  # fmt: skip
        answering = self.phone.answer(ring_ms=0)
        callers = self.pair.sipp.start(
            caller_scenario(self.did, wait_ms=500, hangup="them", bye_timeout_ms=170000),
            service=self.did, timeout_s=180, calls=self.calls,
        )  # fmt: skip
        self.until(lambda: self.waiting() == self.calls, f"{self.calls} callers waiting")
        time.sleep(0.5)
        active = self.services.pop("main")
        if cut:
            self.pair.set_link("main", up=False)
        else:
            os.killpg(active[0].pid, signal.SIGKILL)
        failed_at = time.monotonic()
        self.ask(InputKind.UNPAUSE)
        taking = self.services["main2"]
        self.until(lambda: self.routed() >= 1, "a routing decision after the failure", within=120)
        decided = time.monotonic()
        self.wait_log(taking, "voice service ready")
        ready = time.monotonic()
        time.sleep(1.0)
        lost = self.calls - len(self.callers())
        self.end_calls(answering, callers)
        active[0].wait(60)  # cut: it stopped by itself (exit 3), still cut off
        if cut:
            self.pair.set_link("main", up=True)
            if active[0].returncode != EXIT_LEASE_LOST:
                raise RuntimeError(f"the cut voice run ended with {active[0].returncode}, not {EXIT_LEASE_LOST}")
        self.hand_back()
        return max(decided, ready) - failed_at, lost

    def hand_back(self) -> None:
        """main active again: its service started as a standby, main2's stopped cleanly (the lease given up)."""
        self.services["main"] = self.start_voice("main")
        self.wait_log(self.services["main"], "waits as a standby")
        self.stop(self.services.pop("main2"))
        self.wait_log(self.services["main"], "voice service ready")
        self.services["main2"] = self.start_voice("main2")
        self.wait_log(self.services["main2"], "waits as a standby")

    def end_calls(self, answering: SippRun, callers: SippRun) -> None:
        self.ask(InputKind.PAUSE, code="bench")  # no new offer while the callers go
        for channel in self.callers():
            with contextlib.suppress(OSError):  # gone meanwhile
                self.pair.ari(f"channels/{channel}", "DELETE")
        callers.wait(30)
        answering.wait(30)
        self.until(lambda: self.rows("SELECT count(*) FROM acd_items WHERE channel = 'voice'") == 0, "callers gone")

    @staticmethod
    def stop(service: Service) -> None:
        process = service[0]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)

    def down(self, *, failed: bool = False) -> None:
        for service in self.services.values():
            self.stop(service)
        for log in sorted(self.base.glob("voice-*.log")) if failed else ():
            print(f"--- {log.name}, its end:\n{''.join(log.read_text(errors='replace').splitlines(True)[-25:])}")
        with contextlib.suppress(AttributeError):
            self.pair.set_link("main", up=True)
        self.stack.close()
        shutil.rmtree(self.base, ignore_errors=True)
