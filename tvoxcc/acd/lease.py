"""Only one ACD routes at a time: PostgreSQL's advisory lock, or on SQLite a lease row with an expiry.

PostgreSQL: ``pg_try_advisory_lock`` on a connection kept for it; the lock lives as long as that connection,
so a killed ACD frees it at once (its connection closes). SQLite (one machine, no server): the acd_lease row
itself, taken when free or expired, renewed by its holder well before it expires; a holder on this same host
whose process no longer exists (``kill -9``) is taken over at once rather than at its expiry, so a restarted
``voice run`` routes again within a second (a pid reused since is taken for alive: the expiry then decides).

Either way the row tells who routes (host, pid, since) for ``tvoxcc acd status``, and its ``epoch`` grows
with every new holder. Every batch of decision rows checks the epoch in its own transaction (``fence``):
an ACD that lost its lease (stalled past its expiry, cut off from PostgreSQL) fails its next commit instead
of overwriting the new holder's state, and never releases commands for it.

Cut off from the store (its host's network gone), a holder cannot even learn that it lost the lease: every
query hangs on a socket that gets no answer. So on PostgreSQL (a store over the network) the lease bounds itself
in time on both sides. The holder: a renewal that does not complete within a third of the ttl is a lost lease,
and ``overdue()`` says when no renewal was confirmed for two thirds of it (the holder's watchdog stops acting
then, whatever else hangs). The server: the lock's connection asks it to drop the session once its peer has
been silent for the ttl (TCP keepalives and tcp_user_timeout of that session), which frees the advisory lock
for a standby only after the cut holder has stopped. A cut costs the ttl, never two routers at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tvoxcc.store import models as m
from tvoxcc.store.engine import Store, dead_peer_settings
from tvoxcc.store.one_hop import OneHop

LEASE = "acd"
ADVISORY_KEY = 0x74766F78_61636401  # "tvoxacd\x01": the PostgreSQL advisory lock of the ACD


def advisory_key(name: str) -> int:
    """The PostgreSQL advisory lock of lease ``name``: the ACD's as before; another role's (``support``…) its
    own, from its name (a signed 64-bit number, as pg_try_advisory_lock takes)."""
    if name == LEASE:
        return ADVISORY_KEY
    digest = int.from_bytes(hashlib.blake2b(f"tvoxcc-lease:{name}".encode(), digest_size=8).digest(), "big")
    return digest - (1 << 64) if digest >= 1 << 63 else digest


@dataclass(frozen=True, slots=True)
class Fence:
    """A batch's lease check: the row ``name`` still at ``epoch`` for ``holder``, renewed to these values."""

    name: str
    epoch: int
    holder: str
    renewed_at: datetime
    expires_at: datetime
    router_at: float


class LeaseLost(Exception):
    """Another ACD holds the lease now: this one must stop routing."""


def core(model: Any) -> Table:
    """A mapped class's table: statements on it skip the ORM's bulk paths (cheaper in hot writers)."""
    return cast(Table, model.__table__)


_LEASES = core(m.AcdLease)  # Core, not ORM-enabled: the fence runs in every batch of decisions
# Built once (a statement built at each fence cost more CPU than its UPDATE); SET: the values given.
# The epoch alone decides: an expired lease nobody took is still this holder's (a new holder bumps it).
_FENCE = update(_LEASES).where(
    _LEASES.c.name == bindparam("lease_name"),
    _LEASES.c.epoch == bindparam("lease_epoch"),
    _LEASES.c.holder == bindparam("lease_holder"),
)


def _fenced(conn: Connection, params: dict[str, object]) -> int:
    return conn.execute(_FENCE, params).rowcount


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class Lease:
    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        *,
        ttl_s: float = 15.0,
        name: str = LEASE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.clock = clock
        self.monotonic = monotonic
        self.ttl_s = ttl_s
        self.confirmed_at: float | None = None  # ``monotonic`` when the store last confirmed the lease ours
        self.name = name
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.holder = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:8]}"
        self.epoch: int | None = None  # set while held
        self._lock_conn: AsyncConnection | None = None
        self.key = advisory_key(name)
        self.postgres = store.engine.dialect.name == "postgresql"
        # The renewal's transaction in one hop (every ttl/3; through a session it cost ~2 ms of CPU on SQLite)
        self._hop = OneHop(store, f"lease-{name}")
        store.on_dispose(self._hop.close)

    @property
    def held(self) -> bool:
        return self.epoch is not None

    def overdue(self) -> bool:
        """Held, but not confirmed by the store for two thirds of the ttl: the holder must stop acting now (a
        standby may take the lease at its end)."""
        if self.epoch is None or self.confirmed_at is None or not self.postgres:
            return False  # SQLite is on this machine: no cut to bound (its busy waits are not one)
        return self.monotonic() - self.confirmed_at > self.ttl_s * 2 / 3

    async def try_acquire(self) -> bool:
        if self.held:
            return True
        await self._ensure_row()
        if self.postgres and not await self._lock():
            return False
        now = self.clock()
        async with self.store.session() as session:
            taken = update(m.AcdLease).where(m.AcdLease.name == self.name)
            if not self.postgres:  # the row is the lock: free (never held, released), expired, or its holder dead
                free = or_(m.AcdLease.holder == "", m.AcdLease.expires_at.is_(None))
                dead = await self._dead_holder(session)
                taken = taken.where(or_(free, m.AcdLease.expires_at < _at(now), m.AcdLease.holder == dead))
            result = await session.execute(
                taken.values(
                    holder=self.holder,
                    host=self.host,
                    pid=self.pid,
                    epoch=m.AcdLease.epoch + 1,
                    since=_at(now),
                    renewed_at=_at(now),
                    expires_at=_at(now + self.ttl_s),
                )
            )
            if getattr(result, "rowcount", 0) != 1:
                return False
            epoch = await session.scalar(select(m.AcdLease.epoch).where(m.AcdLease.name == self.name))
            await session.commit()
        self.epoch = epoch
        self.confirmed_at = self.monotonic()
        return True

    async def _dead_holder(self, session: AsyncSession) -> str:
        """The holder of the row when it is a process of this host that no longer exists, else ""."""
        row = (await session.execute(select(m.AcdLease).where(m.AcdLease.name == self.name))).scalar_one_or_none()
        if row is None or not row.holder or not row.pid or row.host != self.host or row.pid == self.pid:
            return ""
        try:
            os.kill(int(row.pid), 0)
        except ProcessLookupError:
            return str(row.holder)
        except OSError:  # it exists (another user's): alive
            return ""
        return ""

    async def renew(self) -> None:
        """Extend the lease (SQLite: its expiry; PostgreSQL: check the lock's connection); LeaseLost if gone, or
        if the store does not answer within a third of the ttl (cut off: the rest of it is the margin)."""
        if self.epoch is None:
            raise LeaseLost("not held")
        if not self.postgres:
            await self._renew()
            self.confirmed_at = self.monotonic()
            return
        try:
            await asyncio.wait_for(self._renew(), self.ttl_s / 3)
        except TimeoutError as error:
            self.epoch = None
            await self._drop()
            raise LeaseLost(f"the store did not confirm lease {self.name!r} within {self.ttl_s / 3:.1f} s") from error
        self.confirmed_at = self.monotonic()

    async def _renew(self) -> None:
        if self._lock_conn is not None:
            try:
                await self._lock_conn.execute(text("SELECT 1"))
            except Exception as error:
                await self._drop()
                raise LeaseLost(f"the advisory lock's connection is gone: {error}") from error
        if await self._hop.run(_fenced, self._fence_params(None)) != 1:
            raise self.lost()

    async def fence(self, session: AsyncSession, router_at: float | None = None) -> None:
        """In the caller's transaction: still ours (same epoch)? Renews it (and notes ``router_at``); else LeaseLost."""
        result = await session.execute(_FENCE, self._fence_params(router_at))
        if getattr(result, "rowcount", 0) != 1:
            raise self.lost()

    def _fence_params(self, router_at: float | None) -> dict[str, object]:
        now = self.clock()
        params: dict[str, object] = {"lease_name": self.name, "lease_epoch": self.epoch, "lease_holder": self.holder}
        params |= {"renewed_at": _at(now), "expires_at": _at(now + self.ttl_s)}
        if router_at is not None:
            params["router_at"] = router_at
        return params

    def fence_of(self, router_at: float) -> Fence:
        """The same check as ``fence``, for a writer that runs it in a statement of its own (tvoxcc.acd.one_trip):
        the lease row's UPDATE matches exactly these values or the batch is not written (then ``lost()``)."""
        now = self.clock()
        return Fence(self.name, self.epoch or 0, self.holder, _at(now), _at(now + self.ttl_s), router_at)

    def lost(self) -> LeaseLost:
        """The fence matched no row: another ACD took the lease. Forgets it; returns the error to raise."""
        self.epoch = None
        return LeaseLost(f"lease {self.name!r} is held by another ACD now")

    async def release(self) -> None:
        if self.epoch is not None:
            async with self.store.session() as session:
                await session.execute(
                    update(m.AcdLease)
                    .where(m.AcdLease.name == self.name, m.AcdLease.epoch == self.epoch)
                    .values(holder="", expires_at=None)
                )
                await session.commit()
        self.epoch = self.confirmed_at = None
        await self._drop(unlock=True)

    async def abandon(self) -> None:
        """Forget the lease without telling anyone (a crash): PostgreSQL frees the lock with the connection,
        SQLite's row stays taken until it expires."""
        self.epoch = self.confirmed_at = None
        await self._drop()

    async def _lock(self) -> bool:
        if self._lock_conn is None:
            self._lock_conn = await self.store.engine.connect()
            for setting, value in dead_peer_settings(self.ttl_s).items():  # the lock dies with a cut-off holder
                await self._lock_conn.execute(text(f"SET {setting} = {int(value)}"))
        got = await self._lock_conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
        await self._lock_conn.commit()  # the lock is the session's, not the transaction's
        return bool(got)

    async def _drop(self, *, unlock: bool = False) -> None:
        conn, self._lock_conn = self._lock_conn, None
        if conn is None:
            return
        try:
            if unlock:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                await conn.commit()
                await conn.close()
            else:
                await conn.invalidate()  # the connection is closed, not pooled: the lock goes with it
                await conn.close()
        except Exception:  # already broken: closing it is all that was left to do
            pass

    async def _ensure_row(self) -> None:
        async with self.store.session() as session:
            if await session.get(m.AcdLease, self.name) is None:
                session.add(m.AcdLease(name=self.name))
                try:
                    await session.commit()
                except Exception:  # another ACD created it at the same moment
                    await session.rollback()
