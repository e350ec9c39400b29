"""The Knowledge Base on the SQL store: articles and their versions, full-text search, ticket suggestions.

Every function takes a tenant session (``Store.tenant(id)``): ORM queries are scoped by the tenancy layer,
and the raw full-text SQL names the session's tenant itself (text() is not rewritten by that layer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tvoxcc.kb.article import (
    ArticleFields,
    ArticleStatus,
    Change,
    KbError,
    Visibility,
    apply_change,
    check_language,
    check_publish,
    check_tags,
    check_unpublish,
    new_article,
    version_record,
)
from tvoxcc.kb.query import SearchQuery, any_of, fts5_match, tsquery
from tvoxcc.kb.snippet import Piece, plain_text, snippet
from tvoxcc.kb.suggest import significant_terms
from tvoxcc.mail.flags import MessageFlag
from tvoxcc.store import models as m
from tvoxcc.store.tenancy import session_tenant
from tvoxcc.support.status import MessageKind

SNIPPET_SOURCE = 20_000  # characters of an article a snippet is looked for in
SUGGEST_MESSAGES = 3  # the ticket's latest customer messages that feed a suggestion
# bm25 weights for FTS5's columns title, body, tags, tenant_id; PostgreSQL weighs title A, tags B, body C
BM25_WEIGHTS = "10.0, 1.0, 4.0, 0.0"


@dataclass(frozen=True)
class Filters:
    language: str | None = None
    tags: tuple[str, ...] = ()
    public_only: bool = False  # customer-facing use: internal articles never show
    include_drafts: bool = False


@dataclass(frozen=True)
class Hit:
    slug: str
    title: str
    language: str
    tags: list[str]
    visibility: str
    status: str
    version: int
    score: float  # higher is better; comparable within one search only
    snippet: list[Piece]


def fields_of(article: m.KbArticle) -> ArticleFields:
    return ArticleFields(
        article.slug, article.title, article.body, article.language, tuple(article.tags), article.visibility
    )


def _tenant_id(session: AsyncSession) -> int:
    tenant_id = session_tenant(session.sync_session)
    if tenant_id is None:
        raise RuntimeError("Knowledge Base access needs a tenant session (Store.tenant)")
    return tenant_id


async def article_by_slug(session: AsyncSession, slug: str) -> m.KbArticle:
    article = (await session.execute(select(m.KbArticle).where(m.KbArticle.slug == slug))).scalar_one_or_none()
    if article is None:
        raise KbError(f"no article {slug!r}")
    return article


def _version_row(article: m.KbArticle, fields: ArticleFields, author: str, now: datetime) -> m.KbArticleVersion:
    record = version_record(fields, article.version, author, now)
    return m.KbArticleVersion(
        article_id=article.id,
        version=record.version,
        title=record.title,
        body=record.body,
        author=record.author,
        created_at=record.at,
    )


async def add_article(session: AsyncSession, fields: ArticleFields, *, author: str, now: datetime) -> m.KbArticle:
    """A new draft, version 1. Refused when the slug is taken in this tenant."""
    checked = new_article(fields)
    taken = (await session.execute(select(m.KbArticle.id).where(m.KbArticle.slug == checked.slug))).first()
    if taken is not None:
        raise KbError(f"article {checked.slug!r} already exists: use `tvoxcc kb edit`")
    article = m.KbArticle(
        slug=checked.slug,
        title=checked.title,
        body=checked.body,
        language=checked.language,
        tags=list(checked.tags),
        visibility=checked.visibility,
        status=ArticleStatus.DRAFT,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(article)
    await session.flush()
    session.add(_version_row(article, checked, author, now))
    await session.flush()
    return article


async def edit_article(session: AsyncSession, slug: str, change: Change, *, author: str, now: datetime) -> m.KbArticle:
    """Apply ``change`` as a new version; the previous ones stay in the history."""
    article = await article_by_slug(session, slug)
    updated = apply_change(fields_of(article), change)
    article.title, article.body, article.language = updated.title, updated.body, updated.language
    article.tags, article.visibility = list(updated.tags), updated.visibility
    article.version += 1
    article.updated_at = now
    session.add(_version_row(article, updated, author, now))
    await session.flush()
    return article


async def set_published(session: AsyncSession, slug: str, published: bool, *, now: datetime) -> m.KbArticle:
    article = await article_by_slug(session, slug)
    if published:
        check_publish(slug, article.status, article.body)
    else:
        check_unpublish(slug, article.status)
    article.status = ArticleStatus.PUBLISHED if published else ArticleStatus.DRAFT
    article.updated_at = now
    await session.flush()
    return article


async def history(session: AsyncSession, slug: str) -> list[m.KbArticleVersion]:
    article = await article_by_slug(session, slug)
    rows = await session.execute(
        select(m.KbArticleVersion)
        .where(m.KbArticleVersion.article_id == article.id)
        .order_by(m.KbArticleVersion.version)
    )
    return list(rows.scalars())


async def version_of(session: AsyncSession, slug: str, version: int) -> m.KbArticleVersion:
    for row in await history(session, slug):
        if row.version == version:
            return row
    raise KbError(f"article {slug!r} has no version {version}")


async def list_articles(session: AsyncSession, filters: Filters) -> list[m.KbArticle]:
    query = select(m.KbArticle).order_by(m.KbArticle.slug)
    if not filters.include_drafts:
        query = query.where(m.KbArticle.status == ArticleStatus.PUBLISHED)
    if filters.public_only:
        query = query.where(m.KbArticle.visibility == Visibility.PUBLIC)
    if filters.language:
        language = check_language(filters.language)
        query = query.where((m.KbArticle.language == language) | m.KbArticle.language.like(f"{language}-%"))
    wanted = set(check_tags(filters.tags))
    return [a for a in (await session.execute(query)).scalars() if wanted <= set(a.tags)]


def _filter_sql(filters: Filters, params: dict[str, Any], dialect: str, alias: str = "a") -> str:
    """The filters' SQL on the row named ``alias``: kb_articles, or PostgreSQL's kb_articles_search (tags jsonb)."""
    clauses = []
    if not filters.include_drafts:
        clauses.append(f"{alias}.status = 'published'")
    if filters.public_only:
        clauses.append(f"{alias}.visibility = 'public'")
    if filters.language:
        params["language"] = check_language(filters.language)
        params["language_prefix"] = params["language"] + "-%"
        clauses.append(f"({alias}.language = :language OR {alias}.language LIKE :language_prefix)")
    tags = check_tags(filters.tags)
    if tags and dialect == "postgresql":
        params["tags"] = json.dumps(list(tags))
        clauses.append(f"CAST({alias}.tags AS jsonb) @> CAST(:tags AS jsonb)")
    for i, tag in enumerate(tags if dialect != "postgresql" else ()):
        params[f"tag{i}"] = tag
        clauses.append(f"EXISTS (SELECT 1 FROM json_each({alias}.tags) WHERE json_each.value = :tag{i})")
    return "".join(f" AND {c}" for c in clauses)


def search_sql(
    dialect: str, query: SearchQuery, tenant_id: int, filters: Filters, limit: int
) -> tuple[str, dict[str, Any]]:
    """The ranked search as one statement: the best ``limit`` ids first, then their rows (bodies read once)."""
    params: dict[str, Any] = {"tenant": tenant_id, "limit": limit}
    if dialect == "postgresql":
        # ranks on the narrow kb_articles_search (migration 0013): every match is read, only the best are joined
        params["q"] = tsquery(query)
        where = _filter_sql(filters, params, dialect, alias="s")
        inner = (
            "SELECT s.article_id AS id, ts_rank(s.search_vector, q.q) AS score FROM kb_articles_search s, "
            "to_tsquery('simple', :q) AS q(q) "
            f"WHERE s.tenant_id = :tenant AND s.search_vector @@ q.q{where} "
            "ORDER BY score DESC, s.article_id LIMIT :limit"
        )
    else:
        where = _filter_sql(filters, params, dialect)
        # the tenant narrows inside the index; the user's words may only match title, body and tags
        params["match"] = f'tenant_id : "{tenant_id}" AND {{title body tags}} : ({fts5_match(query)})'
        inner = (
            f"SELECT a.id, -bm25(kb_articles_fts, {BM25_WEIGHTS}) AS score "
            "FROM kb_articles_fts JOIN kb_articles a ON a.id = kb_articles_fts.rowid "
            f"WHERE kb_articles_fts MATCH :match AND a.tenant_id = :tenant{where} "
            "ORDER BY score DESC, a.id LIMIT :limit"
        )
    sql = (
        "SELECT a.slug, a.title, a.body, a.language, a.tags, a.visibility, a.status, a.version, top.score "
        f"FROM ({inner}) AS top JOIN kb_articles a ON a.id = top.id ORDER BY top.score DESC, a.id"
    )
    return sql, params


# FTS5 ranks fastest on its own (ORDER BY rank inside the index): the best candidates come from there, and
# only they are joined and filtered. ``candidates`` says whether that prefix of the ranking was cut short.
FTS5_FIRST = (
    "WITH top AS MATERIALIZED (SELECT rowid AS id, rank FROM kb_articles_fts WHERE kb_articles_fts MATCH :match "
    f"AND rank MATCH 'bm25({BM25_WEIGHTS})' ORDER BY rank LIMIT :fetch) "
    "SELECT a.slug, a.title, a.body, a.language, a.tags, a.visibility, a.status, a.version, -top.rank, "
    "(SELECT count(*) FROM top) AS candidates "
    "FROM top JOIN kb_articles a ON a.id = top.id WHERE a.tenant_id = :tenant{where} "
    "ORDER BY top.rank, a.id LIMIT :limit"
)
OVERFETCH = 3  # candidates ranked per result wanted, before the filters


async def _fts5_ranked_first(
    connection: AsyncConnection, query: SearchQuery, tenant_id: int, filters: Filters, limit: int
) -> list[tuple[Any, ...]] | None:
    """The best results from a prefix of the ranking, or None when that prefix may not hold them all.

    The candidates are the best-ranked matches, so when ``limit`` of them pass the filters those are exactly
    the best results; when fewer pass and the prefix was cut short, the caller runs the full statement.
    """
    fetch = limit * OVERFETCH + 10
    params: dict[str, Any] = {"tenant": tenant_id, "limit": limit, "fetch": fetch}
    params["match"] = f'tenant_id : "{tenant_id}" AND {{title body tags}} : ({fts5_match(query)})'
    sql = FTS5_FIRST.format(where=_filter_sql(filters, params, "sqlite"))
    rows = (await connection.execute(text(sql), params)).all()
    if len(rows) < limit and (not rows or rows[0][-1] == fetch):
        return None  # none passed (the prefix may have been all drafts) or too few of a full prefix
    return [tuple(r[:-1]) for r in rows]


async def search(session: AsyncSession, query: SearchQuery, filters: Filters, *, limit: int = 10) -> list[Hit]:
    """Ranked articles of the session's tenant matching ``query``, each with a highlighted snippet."""
    if query.empty:
        return []
    dialect = session.get_bind().dialect.name
    tenant_id = _tenant_id(session)
    connection = await session.connection()  # the session's transaction, without the ORM layer: plain rows
    rows = await _fts5_ranked_first(connection, query, tenant_id, filters, limit) if dialect == "sqlite" else None
    if rows is None:
        sql, params = search_sql(dialect, query, tenant_id, filters, limit)
        rows = [tuple(r) for r in (await connection.execute(text(sql), params)).all()]
    terms = query.terms()
    hits = []
    for slug, title, body, language, tags, visibility, status, version, score in rows:
        parsed_tags = json.loads(tags) if isinstance(tags, str) else list(tags)
        pieces = snippet(plain_text(body[:SNIPPET_SOURCE]), terms)
        hits.append(Hit(slug, title, language, parsed_tags, visibility, status, version, float(score), pieces))
    return hits


async def ticket_text(session: AsyncSession, number: int) -> tuple[str, list[str]]:
    """A ticket's subject and its latest customer messages (newest first)."""
    ticket = (await session.execute(select(m.Ticket).where(m.Ticket.number == number))).scalar_one_or_none()
    if ticket is None:
        raise KbError(f"no ticket T-{number}")
    rows = await session.execute(
        select(m.TicketMessage.body_text, m.TicketMessage.flags)
        .where(m.TicketMessage.ticket_id == ticket.id, m.TicketMessage.kind == MessageKind.INBOUND)
        .order_by(m.TicketMessage.id.desc())
    )
    # A copy of our own mail that came back (flagged loop) holds our words, not the customer's.
    bodies = [body for body, flags in rows if MessageFlag.LOOP not in (flags or [])]
    return ticket.subject, bodies[:SUGGEST_MESSAGES]


async def suggest(
    session: AsyncSession, number: int, *, limit: int = 3, public_only: bool = False
) -> tuple[list[str], list[Hit]]:
    """Published articles for ticket T-``number``: the ticket's significant words, then a ranked any-word search."""
    subject, messages = await ticket_text(session, number)
    terms = significant_terms(subject, messages)
    hits = await search(session, any_of(terms), Filters(public_only=public_only), limit=limit)
    return terms, hits
