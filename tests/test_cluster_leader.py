"""One active instance per role (``support run``, ``insight run``): the other stands by, then takes over.

Two instances in this process, each with its own lease token (as two processes would have), on SQLite and
PostgreSQL: their work never runs at the same time; a clean stop hands over at once; an instance whose lease
was taken from it stops its work.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from sqlalchemy import update

from tvoxcc.acd.lease import ADVISORY_KEY, advisory_key
from tvoxcc.cluster import run_as_leader
from tvoxcc.cluster.leader import Work as LeaderWork
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


class Work:
    """A role's work that notes when each instance runs it, and how many run it at once."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.running = 0
        self.most = 0

    def of(self, who: str) -> LeaderWork:
        async def work(active: asyncio.Event) -> None:
            self.running += 1
            self.most = max(self.most, self.running)
            self.log.append(("start", who))
            try:
                await active.wait()
            finally:
                self.running -= 1
                self.log.append(("end", who))

        return work


async def until(check: Callable[[], bool], what: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_one_works_the_other_stands_by_then_takes_over(store: Store) -> None:
    work = Work()
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    a = asyncio.create_task(run_as_leader(store, "support", stop_a, work.of("a"), poll_s=0.1))
    await until(lambda: work.log == [("start", "a")], "a works")
    b = asyncio.create_task(run_as_leader(store, "support", stop_b, work.of("b"), poll_s=0.1))
    await asyncio.sleep(0.5)
    assert work.log == [("start", "a")], "b stands by while a works"
    stop_a.set()
    await a
    await until(lambda: ("start", "b") in work.log, "b takes over once a stops")
    assert work.log == [("start", "a"), ("end", "a"), ("start", "b")] and work.most == 1
    stop_b.set()
    await b
    async with store.session() as session:
        row = await session.get(m.AcdLease, "support")
        acd = await session.get(m.AcdLease, "acd")
    assert row is not None and row.holder == "" and row.epoch == 2  # given up; two holders in turn
    assert acd is None, "the support lease is its own row, not the ACD's"


async def test_an_instance_whose_lease_is_taken_stops_its_work(store: Store) -> None:
    work = Work()
    stop = asyncio.Event()
    a = asyncio.create_task(run_as_leader(store, "insight", stop, work.of("a"), ttl_s=0.6, poll_s=0.1))
    await until(lambda: work.log == [("start", "a")], "a works")
    async with store.session() as session:  # another instance took it (a new epoch): a's next renewal fails
        await session.execute(
            update(m.AcdLease).where(m.AcdLease.name == "insight").values(epoch=m.AcdLease.epoch + 1, holder="x")
        )
        await session.commit()
    await until(lambda: ("end", "a") in work.log, "a's work stops when its lease is gone")
    stop.set()
    await a


def test_each_role_has_its_own_advisory_lock() -> None:
    keys = {advisory_key(name) for name in ("acd", "support", "insight")}
    assert advisory_key("acd") == ADVISORY_KEY and len(keys) == 3
    assert all(-(1 << 63) <= key < 1 << 63 for key in keys)
