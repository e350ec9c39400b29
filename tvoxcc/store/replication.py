"""A PostgreSQL streaming replica for the redundant pair: set one up, make it synchronous, promote it, report.

PostgreSQL's own machinery does all of it (``pg_basebackup -R`` with a physical replication slot, the
``synchronous_standby_names`` setting, ``pg_promote()``); this module only runs it in the right order and
refuses what would lose data: a data directory that is not empty is never written into, synchronous
replication is turned on only once the standby is streaming (else every commit on the primary would wait for a
standby that is not there), and a promoted standby drops a synchronous setting it may have inherited for the
same reason.

Services find the promoted primary by themselves with a multi-host URL
(``postgresql://user@/db?host=a:5432&host=b:5432&target_session_attrs=read-write``): asyncpg tries the hosts
in turn and keeps the one that accepts writes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from tvoxcc.store.engine import make_engine

DEFAULT_NAME = "tvoxcc_standby"


class ReplicationError(Exception):
    """A one-line reason a replication step was refused or failed."""


class Role(StrEnum):
    PRIMARY = "primary"
    STANDBY = "standby"


@dataclass(frozen=True)
class Endpoint:
    """Where the primary listens, as pg_basebackup needs it (the password goes through the environment)."""

    host: str
    port: int
    user: str
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        parsed = make_url(url)
        if parsed.get_backend_name() not in ("postgresql", "postgres"):
            raise ReplicationError("the primary must be a postgresql:// URL")
        if not parsed.host or "host" in parsed.query:
            raise ReplicationError("the primary URL must name one host (postgresql://user@host:port/db)")
        return cls(parsed.host, parsed.port or 5432, parsed.username or "postgres", parsed.password)


def valid_name(name: str) -> str:
    """Slot and application names go into SQL and a conninfo: lower-case letters, digits and _ only."""
    if not name or len(name) > 63 or not all(c.islower() or c.isdigit() or c == "_" for c in name):
        raise ReplicationError(f"bad standby name {name!r}: use 1-63 of a-z, 0-9 and _")
    return name


def basebackup_argv(tool: Path, primary: Endpoint, data: Path, name: str, *, create_slot: bool) -> list[str]:
    """pg_basebackup streaming WAL into ``data``, writing the standby's settings (-R) with ``name`` as both its
    replication slot (the primary keeps the WAL the standby has not received) and its application_name (the
    name synchronous replication waits for)."""
    conninfo = f"host={primary.host} port={primary.port} user={primary.user} application_name={name}"
    argv = [str(tool), "-D", str(data), "-d", conninfo, "-X", "stream", "-R", "-c", "fast", "-S", name, "-w"]
    return [*argv, "-C"] if create_slot else argv


def pg_tool(name: str, search: Sequence[Path] = ()) -> Path:
    """A PostgreSQL client program: on PATH, else the newest Debian install under /usr/lib/postgresql."""
    found = shutil.which(name)
    if found:
        return Path(found)
    for directory in [*search, *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]:
        if (directory / name).is_file():
            return directory / name
    raise ReplicationError(f"{name} not found: install the PostgreSQL client (apt-get install postgresql-client)")


async def _query(url: str, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Rows of one statement run outside a transaction (ALTER SYSTEM refuses to run inside one)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            auto = await connection.execution_options(isolation_level="AUTOCOMMIT")
            result = await auto.execute(text(sql), params or {})
            return list(result.all()) if result.returns_rows else []
    except ReplicationError:
        raise
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ReplicationError(f"{make_url(url).render_as_string()}: {type(exc).__name__}: {first}") from exc
    finally:
        await engine.dispose()


async def role_of(url: str) -> Role:
    rows = await _query(url, "SELECT pg_is_in_recovery()")
    return Role.STANDBY if rows[0][0] else Role.PRIMARY


async def check_primary(url: str, name: str) -> bool:
    """Refuses a primary that cannot feed a standby; True when the slot ``name`` is still to be created."""
    if await role_of(url) is not Role.PRIMARY:
        raise ReplicationError("the primary URL names a standby (pg_is_in_recovery() is true)")
    settings = dict(
        await _query(url, "SELECT name, setting FROM pg_settings WHERE name IN ('wal_level', 'max_wal_senders')")
    )
    if settings.get("wal_level") not in ("replica", "logical"):
        raise ReplicationError(f"the primary's wal_level is {settings.get('wal_level')}: set it to replica")
    if int(settings.get("max_wal_senders", "0")) < 1:
        raise ReplicationError("the primary's max_wal_senders is 0: set it to 10")
    slots = await _query(url, "SELECT active FROM pg_replication_slots WHERE slot_name = :name", {"name": name})
    if slots and slots[0][0]:
        raise ReplicationError(f"replication slot {name} is in use by a running standby: pick another --name")
    return not slots


def check_fresh(data: Path) -> None:
    if data.exists() and (not data.is_dir() or any(data.iterdir())):
        raise ReplicationError(f"{data} is not empty: the standby needs a fresh data directory")


def take_base_backup(argv: list[str], data: Path, password: str | None, os_user: str | None) -> None:
    """Runs pg_basebackup as ``os_user`` (PostgreSQL refuses a data directory owned by root) into a
    directory that must be absent or empty."""
    check_fresh(data)
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    data.chmod(0o700)
    if os_user:
        shutil.chown(data, os_user, os_user)
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    ran = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, user=os_user, group=os_user)
    if ran.returncode != 0:
        lines = [line for line in ran.stderr.splitlines() if line.strip()] or ["(no output)"]
        raise ReplicationError(f"pg_basebackup failed: {lines[-1]}")


async def set_synchronous(primary_url: str, name: str | None) -> None:
    """Commits on the primary wait for standby ``name`` (None: for nobody). Turned on only while that standby
    streams: waiting for one that is not connected would stop every commit."""
    if await role_of(primary_url) is not Role.PRIMARY:
        raise ReplicationError("that URL names a standby: synchronous replication is set on the primary")
    if name is None:
        await _query(primary_url, "ALTER SYSTEM RESET synchronous_standby_names")
    else:
        streaming = await _query(
            primary_url,
            "SELECT 1 FROM pg_stat_replication WHERE application_name = :name AND state = 'streaming'",
            {"name": name},
        )
        if not streaming:
            raise ReplicationError(f"standby {name} is not streaming from this primary: start it first")
        await _query(primary_url, f"ALTER SYSTEM SET synchronous_standby_names = '\"{valid_name(name)}\"'")
    await _query(primary_url, "SELECT pg_reload_conf()")


async def promote(standby_url: str, wait_s: int = 60) -> None:
    """The standby becomes a primary; a synchronous setting it inherited is dropped (it has no standby yet)."""
    if await role_of(standby_url) is not Role.STANDBY:
        raise ReplicationError("that server is already a primary")
    done = await _query(standby_url, "SELECT pg_promote(true, :wait)", {"wait": wait_s})
    if not done[0][0]:
        raise ReplicationError(f"the standby did not finish its promotion within {wait_s} s")
    await _query(standby_url, "ALTER SYSTEM RESET synchronous_standby_names")
    await _query(standby_url, "SELECT pg_reload_conf()")


async def replication_report(url: str) -> dict[str, Any]:
    """What the server is and how its replication stands: a primary's standbys, or a standby's lag."""
    role = await role_of(url)
    if role is Role.PRIMARY:
        rows = await _query(
            url,
            "SELECT application_name, client_addr::text, state, sync_state, "
            "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, "
            "extract(epoch FROM replay_lag)::float FROM pg_stat_replication ORDER BY application_name",
        )
        waits = await _query(url, "SHOW synchronous_standby_names")
        keys = ("name", "address", "state", "sync_state", "lag_bytes", "replay_lag_s")
        return {
            "role": str(role),
            "synchronous_standby_names": waits[0][0] or None,
            "standbys": [dict(zip(keys, row, strict=True)) for row in rows],
        }
    rows = await _query(
        url,
        "SELECT status, sender_host, sender_port, "
        "extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float FROM pg_stat_wal_receiver "
        "RIGHT JOIN (SELECT 1) one ON true",
    )
    status, host, port, age = rows[0]
    return {"role": str(role), "receiving": status, "primary": f"{host}:{port}" if host else None, "replay_age_s": age}
