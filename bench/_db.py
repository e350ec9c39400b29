"""The database a bench runs on: ``--db URL``, a private PostgreSQL with ``--postgres``, else a fresh SQLite file.

with bench_database(args) as url:     # migrated; the server stopped and the files removed afterwards
    asyncio.run(run(url))
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from tvoxcc.store.migrate import upgrade


def add_database_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--postgres", action="store_true", help="start a private PostgreSQL for the run")


@contextmanager
def bench_database(args: argparse.Namespace) -> Iterator[str]:
    """The run's database URL, migrated (alembic runs its own event loop: call this before ``asyncio.run``)."""
    server = None
    if args.postgres:
        from tests.servers.postgres import start_postgres

        server = start_postgres()
    try:
        with tempfile.TemporaryDirectory(prefix="tvoxcc-bench-") as tmp:
            url = server.url() if server else args.db or f"sqlite:///{tmp}/bench.db"
            upgrade(url)
            yield url
    finally:
        if server is not None:
            server.stop()
