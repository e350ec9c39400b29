"""The demo's Knowledge Base part: two articles for the demo tenant, and what they suggest for ticket T-1001."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from tvoxcc.kb import store as kb
from tvoxcc.kb.article import ArticleFields, Visibility
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.types import utcnow

ARTICLES = [
    ArticleFields(
        slug="order-not-arrived",
        title="An order has not arrived",
        body="# Late deliveries\n\nLook the order up, check the **tracking** link and tell the customer the new "
        "delivery date. After 10 working days, offer a replacement or a refund.",
        tags=("orders", "shipping"),
        visibility=Visibility.PUBLIC,
    ),
    ArticleFields(
        slug="reset-password",
        title="Reset a customer's password",
        body="Open the customer's account, choose *Reset password* and confirm: the customer gets a link by mail.",
        tags=("account",),
    ),
]


async def kb_suggests_articles(
    store: Store, say: Callable[[str], None], *, tenant: str = "acme", ticket: int = 1001
) -> None:
    """Add and publish the demo articles, then print the articles suggested for the demo ticket."""
    async with store.session() as session:
        tenant_id = (await session.execute(select(m.Tenant.id).where(m.Tenant.name == tenant))).scalar_one()
    async with store.tenant(tenant_id) as session:
        now = utcnow()
        for fields in ARTICLES:
            await kb.add_article(session, fields, author="sara", now=now)
            await kb.set_published(session, fields.slug, True, now=now)
        await session.commit()
        terms, hits = await kb.suggest(session, ticket)
    say("")
    say(f"Knowledge Base: {len(ARTICLES)} articles published; for T-{ticket} (searched: {' '.join(terms)}):")
    for hit in hits:
        say(f"  suggested: {hit.slug} — {hit.title} [{hit.visibility}]")
    if not hits:
        say("  no article suggested")
