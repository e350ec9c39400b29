"""PostgreSQL's narrow search table (migration 0013) stays in step with kb_articles, whoever writes them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from alembic import command
from sqlalchemy import delete, insert, text, update

from tests.test_kb_store import find, publish, tenants
from tvoxcc.kb import store as kb
from tvoxcc.kb.article import ArticleFields, Change
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import alembic_config, upgrade

# The shared db_url/store fixtures, on PostgreSQL only: SQLite has no such table (its FTS5 index is one).
pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
T = TypeVar("T")

# The tsvector migration 0006 generated, written out again: the ranking must not change with the side table.
VECTOR_0006 = (
    "setweight(to_tsvector('simple', coalesce(a.title, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(a.tags::text, '')), 'B') || "
    "setweight(to_tsvector('simple', coalesce(a.body, '')), 'C')"
)
# Articles whose search row is missing, left over, or differs from the article: none when in step.
OUT_OF_STEP = text(
    "SELECT coalesce(a.slug, 'gone #' || s.article_id) FROM kb_articles a "
    "FULL JOIN kb_articles_search s ON s.article_id = a.id "
    "WHERE a.id IS NULL OR s.article_id IS NULL "
    "OR (s.tenant_id, s.status, s.visibility, s.language, s.tags, s.search_vector) IS DISTINCT FROM "
    f"(a.tenant_id, a.status, a.visibility, a.language, CAST(a.tags AS jsonb), {VECTOR_0006}) "
    "ORDER BY 1"
)


async def out_of_step(store: Store) -> list[str]:
    async with store.session() as s:
        return list((await s.execute(OUT_OF_STEP)).scalars())


async def search_rows(store: Store) -> int:
    async with store.session() as s:
        return int((await s.execute(text("SELECT count(*) FROM kb_articles_search"))).scalar_one())


async def test_every_write_keeps_the_search_table_in_step(store: Store) -> None:
    a, b = await tenants(store, "acme", "globex")
    await publish(store, a, ArticleFields("vpn", "VPN setup", "Install the client", "en", ("network",), "public"))
    await publish(store, b, ArticleFields("vpn", "VPN setup", "Install the globex client"))
    async with store.tenant(a) as s:
        await kb.add_article(s, ArticleFields("fax", "Fax", "Dial 9 first"), author="mario", now=NOW)
        await s.commit()
    assert (await out_of_step(store), await search_rows(store)) == ([], 3)
    assert await find(store, a, "fax") == []  # a draft

    async with store.tenant(a) as s:
        await kb.edit_article(
            s,
            "vpn",
            Change(title="Remote access", body="Use the tunnel", add_tags=("remote",), drop_tags=("network",)),
            author="x",
            now=NOW,
        )
        await kb.set_published(s, "fax", True, now=NOW)
        await s.commit()
    assert await out_of_step(store) == []
    assert (await find(store, a, "tunnel"), await find(store, a, "install"), await find(store, a, "remote")) == (
        ["vpn"],
        [],
        ["vpn"],
    )
    assert await find(store, a, "fax", kb.Filters(public_only=True)) == []  # the visibility came along too
    assert await find(store, b, "install") == ["vpn"]  # the other tenant's article of the same slug is untouched

    async with store.session() as s:  # writers outside the store code: bulk Core insert, plain updates
        row = {"tenant_id": b, "slug": "bulk", "title": "Bulk loaded", "body": "Printer toner", "language": "it",
               "tags": ["hardware"], "visibility": "public", "status": "published", "version": 1,
               "created_at": NOW, "updated_at": NOW}  # fmt: skip
        await s.execute(insert(m.KbArticle.__table__), [row])
        await s.execute(update(m.KbArticle).where(m.KbArticle.slug == "fax").values(tenant_id=b, slug="fax-moved"))
        await s.commit()
    assert await out_of_step(store) == []
    assert (await find(store, a, "fax"), await find(store, b, "fax")) == ([], ["fax-moved"])
    assert await find(store, b, "toner", kb.Filters(language="it", tags=("hardware",))) == ["bulk"]

    async with store.tenant(a) as s:
        await kb.set_published(s, "vpn", False, now=NOW)
        await s.commit()
    assert await out_of_step(store) == []
    assert await find(store, a, "tunnel") == []

    async with store.session() as s:
        await s.execute(delete(m.KbArticle).where(m.KbArticle.slug == "bulk"))
        await s.commit()
    assert (await out_of_step(store), await search_rows(store)) == ([], 3)
    assert await find(store, b, "toner") == []


def test_downgrade_brings_the_generated_vector_back(db_url: str) -> None:
    async def add_published(store: Store) -> int:
        (tid,) = await tenants(store, "acme")
        await publish(store, tid, ArticleFields("fax", "Legacy fax setup", "Dial 9 first"))
        return tid

    async def found_by_0006_vector(store: Store) -> list[str]:
        async with store.session() as s:
            sql = "SELECT slug FROM kb_articles WHERE search_vector @@ to_tsquery('simple', 'fax')"
            return list((await s.execute(text(sql))).scalars())

    def run(step: Callable[[Store], Awaitable[T]]) -> T:
        async def on_own_store() -> T:
            store = Store.from_url(db_url)
            try:
                return await step(store)
            finally:
                await store.dispose()

        return asyncio.run(on_own_store())

    upgrade(db_url)
    tid = run(add_published)
    command.downgrade(alembic_config(db_url), "0012")
    assert run(found_by_0006_vector) == ["fax"]
    upgrade(db_url)  # and up again: the side table is filled from the articles
    assert run(lambda store: find(store, tid, "fax")) == ["fax"]
    assert run(out_of_step) == []
