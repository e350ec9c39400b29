"""Alembic environment: runs migrations on our async engines (aiosqlite / asyncpg)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from tvoxcc.store.engine import make_engine
from tvoxcc.store.models import Base

config = context.config
target_metadata = Base.metadata
FULL_TEXT_SEARCH_OBJECTS = ("kb_articles_fts", "kb_articles_search", "ix_kb_articles_search")


def _include(obj: object, name: str | None, kind: str, reflected: bool, _compare_to: object) -> bool:
    # Full-text search objects live only in migrations 0006 and 0013 (FTS5 tables, PostgreSQL's side table
    # kb_articles_search and its indexes), not in the models: autogenerate must not offer to drop them.
    return not (reflected and name is not None and name.startswith(FULL_TEXT_SEARCH_OBJECTS))


def _run(connection: Connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode recreates tables instead.
    context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=True, include_object=_include
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = make_engine(config.get_main_option("tvoxcc.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_async())
