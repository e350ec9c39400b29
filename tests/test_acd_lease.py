"""The ACD's lease after a kill -9 on the same host: a restarted ACD routes at once, not at the lease's expiry.

SQLite: the row names a process of this host that no longer exists: taken over. A live holder keeps it until
it expires. PostgreSQL: the advisory lock goes with the killed process's connection.
"""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import update

from tvoxcc.acd import Lease
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


class Clock:
    def __init__(self) -> None:
        self.now = 2_000_000.0

    def __call__(self) -> float:
        return self.now


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


async def held_by(store: Store, lease: Lease, pid: int) -> None:
    """Make the row say that process ``pid`` of this host holds the lease (as ``voice run`` wrote it)."""
    async with store.session() as session:
        await session.execute(
            update(m.AcdLease)
            .where(m.AcdLease.name == lease.name)
            .values(pid=pid, holder=f"{lease.host}:{pid}:0badc0de")
        )
        await session.commit()


async def test_a_killed_holder_on_this_host_is_taken_over_at_once(store: Store) -> None:
    clock = Clock()
    first = Lease(store, clock, ttl_s=60)
    assert await first.try_acquire()
    second = Lease(store, clock, ttl_s=60)
    if store.engine.dialect.name == "sqlite":
        await held_by(store, first, os.getppid())  # alive: it keeps the lease until it expires
        assert not await second.try_acquire()
        await held_by(store, first, dead_pid())  # killed: not 60 s of waiting
        assert await second.try_acquire()
    else:
        assert not await second.try_acquire()
        await first.abandon()  # the killed process's connection closes: its advisory lock with it
        assert await second.try_acquire()
    await second.renew()
    await second.release()
