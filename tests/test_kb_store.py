"""Knowledge Base on the real store, SQLite (FTS5) and PostgreSQL (tsvector): versions, ranking, isolation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import insert

from tests.old_schema import old_tenant
from tests.test_kb_core import HOSTILE
from tvoxcc.kb import store as kb
from tvoxcc.kb.article import ArticleFields, Change, KbError
from tvoxcc.kb.query import parse_query
from tvoxcc.kb.snippet import render
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import MIGRATIONS, upgrade

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


async def tenants(store: Store, *names: str) -> list[int]:
    async with store.session() as s:
        rows = [m.Tenant(name=n) for n in names]
        s.add_all(rows)
        await s.commit()
        return [t.id for t in rows]


async def publish(store: Store, tid: int, *articles: ArticleFields) -> None:
    async with store.tenant(tid) as s:
        for a in articles:
            await kb.add_article(s, a, author="mario", now=NOW)
            await kb.set_published(s, a.slug, True, now=NOW)
        await s.commit()


async def find(store: Store, tid: int, text: str, filters: kb.Filters | None = None) -> list[str]:
    async with store.tenant(tid) as s:
        return [h.slug for h in await kb.search(s, parse_query(text), filters or kb.Filters())]


async def test_versions_history_and_publishing(store: Store) -> None:
    (tid,) = await tenants(store, "acme")
    async with store.tenant(tid) as s:
        await kb.add_article(s, ArticleFields("wifi", "Office Wi-Fi", "Join the network"), author="mario", now=NOW)
        with pytest.raises(KbError, match="already exists"):
            await kb.add_article(s, ArticleFields("wifi", "Again", ""), author="mario", now=NOW)
        later = NOW + timedelta(hours=1)
        await kb.edit_article(
            s, "wifi", Change(body="Join **acme-guest**, password on the badge"), author="sara", now=later
        )
        await s.commit()
    async with store.tenant(tid) as s:
        assert await find(store, tid, "badge") == []  # a draft is not searched...
        assert [h.slug for h in await kb.search(s, parse_query("badge"), kb.Filters(include_drafts=True))] == ["wifi"]
        article = await kb.set_published(s, "wifi", True, now=later)
        await s.commit()
        assert (article.version, article.status) == (2, "published")
        versions = await kb.history(s, "wifi")
        assert [(v.version, v.author, v.created_at, v.body[:4]) for v in versions] == [
            (1, "mario", NOW, "Join"),
            (2, "sara", later, "Join"),
        ]
        assert (await kb.version_of(s, "wifi", 1)).body == "Join the network"
        with pytest.raises(KbError, match="no version 3"):
            await kb.version_of(s, "wifi", 3)
        with pytest.raises(KbError, match="no article 'nope'"):
            await kb.edit_article(s, "nope", Change(title="x"), author="sara", now=later)
    assert await find(store, tid, "badge") == ["wifi"]
    assert await find(store, tid, "network") == []  # the edit re-indexed the article: the old text is gone
    async with store.tenant(tid) as s:
        await kb.set_published(s, "wifi", False, now=NOW)
        await s.commit()
    assert await find(store, tid, "badge") == []


async def test_title_match_ranks_above_body_match(store: Store) -> None:
    (tid,) = await tenants(store, "acme")
    filler = "General notes about the office, the kitchen and the parking. " * 3
    await publish(
        store,
        tid,
        ArticleFields("body-only", "Office parking rules", f"{filler} If the printer jams call the desk."),
        ArticleFields("title-hit", "Printer jams", f"{filler} Open the tray and remove the paper."),
        ArticleFields("unrelated", "Holiday calendar", filler),
    )
    assert await find(store, tid, "printer") == ["title-hit", "body-only"]
    assert await find(store, tid, "printer jams") == ["title-hit", "body-only"]
    async with store.tenant(tid) as s:
        hits = await kb.search(s, parse_query("jams"), kb.Filters())
    assert hits[0].score > hits[1].score
    assert "**jams**" in render(hits[1].snippet)


async def test_filters_language_visibility_tags(store: Store) -> None:
    (tid,) = await tenants(store, "acme")
    await publish(
        store,
        tid,
        ArticleFields("refund-en", "Refund policy", "Refunds in 14 days", "en", ("billing",), "public"),
        ArticleFields("refund-us", "Refund policy US", "Refunds in 30 days", "en-US", ("billing", "us"), "internal"),
        ArticleFields("refund-it", "Rimborso refund", "Rimborsi in 14 giorni", "it", (), "public"),
    )
    assert sorted(await find(store, tid, "refund")) == ["refund-en", "refund-it", "refund-us"]
    assert sorted(await find(store, tid, "refund", kb.Filters(language="en"))) == ["refund-en", "refund-us"]
    assert sorted(await find(store, tid, "refund", kb.Filters(language="EN-us"))) == ["refund-us"]
    assert sorted(await find(store, tid, "refund", kb.Filters(public_only=True))) == ["refund-en", "refund-it"]
    assert sorted(await find(store, tid, "refund", kb.Filters(tags=("billing",)))) == ["refund-en", "refund-us"]
    assert sorted(await find(store, tid, "refund", kb.Filters(tags=("billing", "us")))) == ["refund-us"]
    assert sorted(await find(store, tid, "billing")) == ["refund-en", "refund-us"]  # tags are searched too
    assert sorted(await find(store, tid, "rimb*")) == ["refund-it"]
    async with store.tenant(tid) as s:
        listed = await kb.list_articles(s, kb.Filters(tags=("us",)))
        assert [a.slug for a in listed] == ["refund-us"]


async def test_tenant_isolation(store: Store) -> None:
    a, b = await tenants(store, "acme", "globex")
    await publish(store, a, ArticleFields("vpn", "VPN setup", "Install the acme VPN client"))
    await publish(store, b, ArticleFields("vpn", "VPN setup", "Install the globex VPN client"))
    await publish(store, b, ArticleFields("secret", "Globex only", f"Tenant {a} {b} globex"))
    assert await find(store, a, "vpn") == ["vpn"]
    assert await find(store, a, "globex") == []
    assert await find(store, b, "acme") == []
    # the tenant id is indexed (SQLite) but never matchable by the user's words
    assert await find(store, a, str(a)) == []
    assert await find(store, a, f"tenant_id:{b}") == []
    async with store.tenant(a) as s:
        hits = await kb.search(s, parse_query("install client"), kb.Filters())
    assert [(h.slug, "acme" in render(h.snippet)) for h in hits] == [("vpn", True)]


async def test_hostile_queries_never_raise(store: Store) -> None:
    (tid,) = await tenants(store, "acme")
    await publish(
        store,
        tid,
        ArticleFields("odd", "And or not near", "ünïcødé ÇAFÉ 日本語のテキスト e-mail مرحبا word"),
    )
    for text in HOSTILE:
        for match_all in (True, False):
            async with store.tenant(tid) as s:
                await kb.search(s, parse_query(text, match_all=match_all), kb.Filters())
    assert await find(store, tid, "ÜNÏCØDÉ") == ["odd"]
    assert await find(store, tid, "e-mail") == ["odd"]
    assert await find(store, tid, "AND OR NOT") == ["odd"]
    assert await find(store, tid, "日本語のテキスト") == ["odd"]


async def test_suggestions_for_a_ticket(store: Store) -> None:
    (tid,) = await tenants(store, "acme")
    await publish(
        store,
        tid,
        ArticleFields("late-delivery", "Late delivery of an order", "When an order has not arrived, check tracking."),
        ArticleFields("toner", "Replace the toner", "Open the printer and swap the toner cartridge."),
        ArticleFields("wifi", "Office Wi-Fi", "Network name and password."),
    )
    async with store.tenant(tid) as s:
        ticket = m.Ticket(number=1001, subject="Order 4711 has not arrived")
        s.add(ticket)
        await s.flush()
        s.add(
            m.TicketMessage(
                ticket_id=ticket.id, kind="inbound", body_text="Hello,\nmy order 4711 was due Monday, no delivery yet."
            )
        )
        await s.commit()
        terms, hits = await kb.suggest(s, 1001)
        assert terms[:2] == ["order", "arrived"] and "4711" not in terms
        assert [h.slug for h in hits] == ["late-delivery"]
        with pytest.raises(KbError, match="no ticket T-9"):
            await kb.suggest(s, 9)


def test_migration_indexes_articles_written_before_it(db_url: str) -> None:
    async def write_old_article() -> int:
        store = Store.from_url(db_url)
        async with store.session() as s:
            tid = await old_tenant(s, "acme")  # the schema before 0006
            await s.commit()
        row = {"tenant_id": tid, "slug": "old", "title": "Legacy fax setup", "body": "Dial 9 first", "language": "en",
               "tags": [], "visibility": "internal", "status": "published", "version": 1, "created_at": NOW,
               "updated_at": NOW}  # fmt: skip
        async with store.session() as s:
            await s.execute(insert(m.KbArticle.__table__), [row])
            await s.commit()
        await store.dispose()
        return tid

    async def search_fax(tid: int) -> list[str]:
        store = Store.from_url(db_url)
        try:
            return await find(store, tid, "fax")
        finally:
            await store.dispose()

    before = ScriptDirectory(str(MIGRATIONS)).get_revision("0006").down_revision  # re-chained when merged
    upgrade(db_url, str(before))
    tid = asyncio.run(write_old_article())
    upgrade(db_url)  # 0006 indexes what is already there
    assert asyncio.run(search_fax(tid)) == ["old"]


async def test_filters_after_ranking_never_lose_a_result(store: Store) -> None:
    """SQLite ranks a prefix of candidates first: drafts outranking every published article must not hide it."""
    (tid,) = await tenants(store, "acme")
    async with store.tenant(tid) as s:
        for n in range(45):
            await kb.add_article(s, ArticleFields(f"draft-{n}", f"Alpha draft {n}", "alpha alpha"), author="x", now=NOW)
        await s.commit()
    await publish(store, tid, ArticleFields("published", "Something else", "One mention of alpha, far down."))
    assert await find(store, tid, "alpha") == ["published"]
    async with store.tenant(tid) as s:
        drafts = await kb.search(s, parse_query("alpha"), kb.Filters(include_drafts=True), limit=5)
    assert [h.slug for h in drafts] == ["draft-0", "draft-1", "draft-2", "draft-3", "draft-4"]
    assert drafts[0].score >= drafts[4].score
