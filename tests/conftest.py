"""Shared fixtures: a database URL per backend (SQLite file and a real PostgreSQL server)."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.cli import Tvox, make_tvox
from tests.components import component_missing
from tests.servers.postgres import PostgresServer, find_pg_bin, start_postgres
from tests.servers.smtp import SmtpSink
from tvoxcc.lab.sipp import PORT_SLICE_ENV
from tvoxcc.store.engine import Store

# A parallel worker's share of the ephemeral ports for its sipp phones (tvoxcc.lab.sipp.free_udp_port): the
# workers' phones never race for a port, each worker only against itself, which tracks what it handed out.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault(
        PORT_SLICE_ENV,
        f"{os.environ['PYTEST_XDIST_WORKER'].removeprefix('gw')}/{os.environ['PYTEST_XDIST_WORKER_COUNT']}",
    )


# e2e modules on a namespace topology of their own (tvoxcc.lab.topology_lab), not on the shared lab.
TOPOLOGY_MODULES = frozenset(
    {"test_voice_nodes.py", "test_nodes_topology.py", "test_lab_topology_cli.py", "test_voice_failover_cut.py"}
)


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the marks into the test ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Work units for `pytest -n N --dist loadgroup` (`make test`): each module whole, every lab test in one, and
    the namespace-topology tests in another.

    The lab tests share one Asterisk per worker and its store, one module after another in collection order, as
    in a run without workers: spread over workers they would meet in orders no run has checked. The topology
    tests bring up hosts of their own (namespaces, subnet, Asterisk nodes, Kamailio, store): they need nothing
    of the shared lab, so they run beside it, one after another (two topologies at once would crowd the cores).
    Everything else goes in parallel by module, each worker with its own PostgreSQL and free ports.
    """
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_work_unit(item.path.relative_to(Path(__file__).parent))))


def _work_unit(path: Path) -> str:
    if path.parts[0] != "e2e":
        return path.as_posix()
    return "topology" if path.name in TOPOLOGY_MODULES else "lab"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if find_pg_bin() is None:
        component_missing("PostgreSQL server not installed (apt-get install postgresql)")
    server = start_postgres()
    yield server
    server.stop()


_db_counter = itertools.count()


def _create_pg_database(server: PostgresServer) -> str:
    name = f"t{os.getpid()}_{next(_db_counter)}"
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(server.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-qc",
            f"CREATE DATABASE {name}",
        ],
        check=True,
        capture_output=True,
    )
    return server.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend, one per test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tvoxcc.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return _create_pg_database(server)


@pytest.fixture
def migrated_url(db_url: str) -> str:
    from tvoxcc.store.migrate import upgrade

    upgrade(db_url)
    return db_url


@pytest.fixture
async def store(migrated_url: str) -> AsyncIterator[Store]:
    s = Store.from_url(migrated_url)
    yield s
    await s.dispose()


@pytest.fixture
def tvox(tmp_path: Path) -> Tvox:
    """The CLI on a fresh SQLite database."""
    return make_tvox(tmp_path)


@pytest.fixture
def tvox_any(tmp_path: Path, db_url: str) -> Tvox:
    """The CLI on a fresh database of each backend (SQLite, PostgreSQL)."""
    return make_tvox(tmp_path, db_url)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """An in-process SMTP server (aiosmtpd) on a free loopback port, collecting what is sent."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()
