"""What a round of bench/failover.py watches and asks, on either set-up: the lab's Asterisk and SQLite store
(bench/failover.py's Bench), or the redundant namespace topology and its PostgreSQL (bench/_failover_pair.py).

A set-up says how it counts rows in its store, reaches its Asterisk over ARI and tells callers from agents'
legs; the round's steps are the same on both:

    answering, callers = rounds.callers_waiting(phone, sipp, did)   # the agent paused, CALLS callers queued
    … the failure …
    took, lost = rounds.taken_over(taking, failed_at)             # routed again and the calls taken back
    rounds.end_calls(answering, callers)
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tvoxcc.acd import InputKind, send_input
from tvoxcc.lab.sipp import Sipp, SippAgent, SippRun, caller_scenario
from tvoxcc.store.engine import Store

Service = tuple[subprocess.Popen[bytes], Path]  # a `voice run` and its log


def wait_log(service: Service, text: str, within: float = 60.0) -> None:
    """Until the service's log says ``text``; its end raised if it exits first or ``within`` s pass."""
    process, log = service
    deadline = time.monotonic() + within
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"voice run: no {text!r}: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)


def run_rounds(
    count: int, one: Callable[[], tuple[float, int]], said: Callable[[int, float, int], str]
) -> tuple[list[float], int]:
    """``count`` rounds of ``one`` (takeover s, calls lost), each printed as ``said(n, took, lost)``: (the takeover
    times, the calls lost in all)."""
    took_all, lost_all = [], 0
    for n in range(1, count + 1):
        took, lost = one()
        took_all.append(took)
        lost_all += lost
        print(said(n, took, lost), flush=True)
    return took_all, lost_all


def until(check: Callable[[], bool], what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {within} s")
        time.sleep(0.02)


class FailoverRounds(ABC):
    """One agent, ``calls`` callers a round; the store and Asterisk as the machine sees them."""

    def __init__(self, agent: str, calls: int) -> None:
        self.agent, self.calls = agent, calls

    @abstractmethod
    def rows(self, sql: str) -> int:
        """The store's answer to a ``SELECT count(*) …``."""

    @abstractmethod
    def database_url(self) -> str:
        """The store the services share, for the agent's requests."""

    @abstractmethod
    def ari(self, path: str, method: str = "GET") -> Any:
        """The calls' Asterisk, over ARI."""

    @abstractmethod
    def callers(self) -> list[str]:
        """The callers' channels on that Asterisk (the agent's legs left out)."""

    def waiting(self) -> int:
        return self.rows("SELECT count(*) FROM acd_items WHERE channel = 'voice' AND status = 'waiting'")

    def routed(self) -> int:
        return self.rows(
            "SELECT count(*) FROM acd_items WHERE channel = 'voice' AND status IN ('offered', 'connected')"
        )

    def ask(self, kind: InputKind, **payload: Any) -> None:
        """A request of the agent's, written to the store as its phone or the web would."""

        async def go() -> None:
            store = Store.from_url(self.database_url())
            try:
                await send_input(store, kind, agent_id=self.agent, **payload)
            finally:
                await store.dispose()

        asyncio.run(go())

    def callers_waiting(self, phone: SippAgent, sipp: Sipp, did: str) -> tuple[SippRun, SippRun]:
        """The agent paused, its phone answering, ``calls`` callers queued on ``did``: (answering, callers)."""
        self.ask(InputKind.PAUSE, code="bench")
        until(lambda: self.rows(f"SELECT count(*) FROM acd_agents WHERE agent_id = '{self.agent}' "
                                "AND status = 'paused'") == 1, "the agent paused")  # fmt: skip
        answering = phone.answer(ring_ms=0)
        callers = sipp.start(
            caller_scenario(did, wait_ms=500, hangup="them", bye_timeout_ms=170000),
            service=did, timeout_s=180, calls=self.calls,
        )  # fmt: skip
        until(lambda: self.waiting() == self.calls, f"{self.calls} callers waiting")
        time.sleep(0.5)
        return answering, callers

    def taken_over(self, taking: Service, failed_at: float, within: float = 60.0) -> tuple[float, int]:
        """(takeover s, calls lost) once ``taking`` routes again: its first routing decision committed and its
        "voice service ready" (the calls taken back), whichever is later; lost: callers gone a second after."""
        until(lambda: self.routed() >= 1, "a routing decision after the failure", within)
        decided = time.monotonic()
        wait_log(taking, "voice service ready", within)
        ready = time.monotonic()
        time.sleep(1.0)
        return max(decided, ready) - failed_at, self.calls - len(self.callers())

    def end_calls(self, answering: SippRun, callers: SippRun) -> None:
        self.ask(InputKind.PAUSE, code="bench")  # no new offer while the callers go
        for channel in self.callers():
            with contextlib.suppress(OSError):  # gone meanwhile
                self.ari(f"channels/{channel}", "DELETE")
        callers.wait(30)
        answering.wait(30)
        until(lambda: self.rows("SELECT count(*) FROM acd_items WHERE channel = 'voice'") == 0, "callers gone")
