"""`tvoxcc kb`: the Knowledge Base — articles with versions, full-text search, suggestions for tickets."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.repository import find_tenant
from tvoxcc.cli._common import emit_json, emit_table, json_option, tenant_option, with_store
from tvoxcc.kb import store as kb
from tvoxcc.kb.article import ArticleFields, ArticleStatus, Change, KbError, Visibility
from tvoxcc.kb.query import parse_query
from tvoxcc.kb.snippet import render
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.types import utcnow

T = TypeVar("T")
slug_argument = click.argument("slug")
author_option = click.option("--author", default="admin", show_default=True, help="Who writes this version.")


def on_kb(ctx: click.Context, tenant_name: str, action: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``action`` in one transaction of the tenant's session; a KbError is an `error:` line per problem."""

    async def go(store: Store) -> T:
        async with store.session() as session:
            tenant = await find_tenant(session, tenant_name)
        async with store.tenant(tenant.id) as session:
            try:
                result = await action(session)
            except KbError as exc:
                raise AdminError(*exc.problems) from exc
            await session.commit()
            return result

    return with_store(ctx, go)


def read_body(body: str | None, body_file: str | None) -> str | None:
    if body is not None and body_file is not None:
        raise AdminError("give the body once: --body or --body-file")
    source = body_file if body_file is not None else ("-" if body == "-" else None)
    if source is None:
        return body
    if source == "-":
        return click.get_text_stream("stdin").read()
    try:
        return Path(source).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise AdminError(f"cannot read {source}: {getattr(exc, 'strerror', None) or exc}") from exc


def _bold() -> tuple[str, str]:
    return ("\x1b[1m", "\x1b[0m") if sys.stdout.isatty() else ("**", "**")


def hit_json(hit: kb.Hit) -> dict[str, Any]:
    return {
        "slug": hit.slug,
        "title": hit.title,
        "language": hit.language,
        "tags": hit.tags,
        "visibility": hit.visibility,
        "status": hit.status,
        "version": hit.version,
        "score": round(hit.score, 6),
        "snippet": render(hit.snippet),
    }


def print_hits(hits: list[kb.Hit]) -> None:
    before, after = _bold()
    for n, hit in enumerate(hits, 1):
        status = "" if hit.status == ArticleStatus.PUBLISHED else f", {hit.status}"
        click.echo(f"{n}. {hit.slug}  {hit.title}  [{hit.language}, {hit.visibility}{status}, v{hit.version}]")
        click.echo(f"   {render(hit.snippet, before, after)}")


def article_json(article: m.KbArticle) -> dict[str, Any]:
    return {
        "slug": article.slug,
        "title": article.title,
        "language": article.language,
        "tags": list(article.tags),
        "visibility": article.visibility,
        "status": article.status,
        "version": article.version,
        "updated": article.updated_at.isoformat(timespec="seconds"),
    }


@click.group("kb")
def kb_group() -> None:
    """Knowledge Base articles: add, edit (every edit is a version), publish, search, suggest for a ticket."""


@kb_group.command("add")
@tenant_option
@click.option("--slug", required=True, help="URL name: lower-case letters, digits, hyphens.")
@click.option("--title", required=True)
@click.option("--body", help="Markdown text ('-' reads stdin).")
@click.option("--body-file", help="Read the Markdown body from FILE ('-' for stdin).")
@click.option("--language", "-l", default="en", show_default=True, help="Language code (en, it, pt-BR...).")
@click.option("--tag", "tags", multiple=True, help="A tag (repeat for more).")
@click.option("--public", is_flag=True, help="Customer-facing (default: internal, agents only).")
@click.option("--publish", is_flag=True, help="Publish at once (default: a draft).")
@author_option
@click.pass_context
def add(
    ctx: click.Context,
    tenant: str,
    slug: str,
    title: str,
    body: str | None,
    body_file: str | None,
    language: str,
    tags: tuple[str, ...],
    public: bool,
    publish: bool,
    author: str,
) -> None:
    """Add an article (version 1, a draft unless --publish)."""
    text = read_body(body, body_file) or ""
    fields = ArticleFields(slug, title, text, language, tags, Visibility.PUBLIC if public else Visibility.INTERNAL)

    async def go(session: AsyncSession) -> m.KbArticle:
        now = utcnow()
        article = await kb.add_article(session, fields, author=author, now=now)
        return await kb.set_published(session, article.slug, True, now=now) if publish else article

    article = on_kb(ctx, tenant, go)
    click.echo(f"article {article.slug} added (version 1, {article.status}, {article.visibility})")


@kb_group.command("edit")
@tenant_option
@slug_argument
@click.option("--title")
@click.option("--body", help="New Markdown text ('-' reads stdin).")
@click.option("--body-file", help="Read the new body from FILE ('-' for stdin).")
@click.option("--editor", is_flag=True, help="Edit the current body in $EDITOR.")
@click.option("--language", "-l")
@click.option("--tag", "tags", multiple=True, help="Add a tag.")
@click.option("--drop-tag", "drop_tags", multiple=True, help="Remove a tag.")
@click.option("--public/--internal", "public", default=None, help="Change who may see it.")
@author_option
@click.pass_context
def edit(
    ctx: click.Context,
    tenant: str,
    slug: str,
    title: str | None,
    body: str | None,
    body_file: str | None,
    editor: bool,
    language: str | None,
    tags: tuple[str, ...],
    drop_tags: tuple[str, ...],
    public: bool | None,
    author: str,
) -> None:
    """Change an article: a new version, the old ones kept (see `history`)."""
    new_body = read_body(body, body_file)
    if editor and new_body is not None:
        raise AdminError("--editor and --body/--body-file exclude each other")
    if editor:
        current = on_kb(ctx, tenant, lambda s: kb.article_by_slug(s, slug))
        new_body = click.edit(current.body, extension=".md")
        if new_body is None:
            raise AdminError(f"editor closed without saving: {slug!r} not changed")
    visibility = None if public is None else (Visibility.PUBLIC if public else Visibility.INTERNAL)
    change = Change(title, new_body, language, tags, drop_tags, visibility)
    article = on_kb(ctx, tenant, lambda s: kb.edit_article(s, slug, change, author=author, now=utcnow()))
    click.echo(f"article {article.slug}: version {article.version} ({article.status})")


@kb_group.command("publish")
@tenant_option
@slug_argument
@click.pass_context
def publish(ctx: click.Context, tenant: str, slug: str) -> None:
    """Make an article visible to search and suggestions."""
    on_kb(ctx, tenant, lambda s: kb.set_published(s, slug, True, now=utcnow()))
    click.echo(f"article {slug} published")


@kb_group.command("unpublish")
@tenant_option
@slug_argument
@click.pass_context
def unpublish(ctx: click.Context, tenant: str, slug: str) -> None:
    """Back to draft: hidden from search and suggestions (kept with its history)."""
    on_kb(ctx, tenant, lambda s: kb.set_published(s, slug, False, now=utcnow()))
    click.echo(f"article {slug} unpublished (draft)")


filter_options = [
    click.option("--language", "-l", help="Only articles in this language (en also finds en-US)."),
    click.option("--tag", "tags", multiple=True, help="Only articles with this tag (repeat: all of them)."),
    click.option("--public", "public_only", is_flag=True, help="Only public articles (customer-facing use)."),
    click.option("--all", "include_drafts", is_flag=True, help="Drafts too (default: published only)."),
]


def with_filters(command: Any) -> Any:
    for option in reversed(filter_options):
        command = option(command)
    return command


@kb_group.command("search")
@tenant_option
@click.argument("query")
@with_filters
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(1, 100))
@json_option
@click.pass_context
def search(
    ctx: click.Context,
    tenant: str,
    query: str,
    language: str | None,
    tags: tuple[str, ...],
    public_only: bool,
    include_drafts: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Ranked full-text search (all words must match; "a phrase", pass* for a prefix)."""
    parsed = parse_query(query)
    if parsed.empty:
        raise AdminError(f"nothing to search for in {query!r}: give at least one word")
    filters = kb.Filters(language, tags, public_only, include_drafts)
    hits = on_kb(ctx, tenant, lambda s: kb.search(s, parsed, filters, limit=limit))
    if as_json:
        emit_json([hit_json(h) for h in hits])
    elif hits:
        print_hits(hits)
    else:
        click.echo("(no article matches)")


@kb_group.command("list")
@tenant_option
@with_filters
@json_option
@click.pass_context
def list_(
    ctx: click.Context,
    tenant: str,
    language: str | None,
    tags: tuple[str, ...],
    public_only: bool,
    include_drafts: bool,
    as_json: bool,
) -> None:
    """Articles by slug (published only unless --all)."""
    filters = kb.Filters(language, tags, public_only, include_drafts)
    rows = [article_json(a) for a in on_kb(ctx, tenant, lambda s: kb.list_articles(s, filters))]
    if as_json:
        emit_json(rows)
    else:
        emit_table(rows, ["slug", "title", "language", "tags", "visibility", "status", "version"])


@kb_group.command("show")
@tenant_option
@slug_argument
@click.option("--version", "version", type=int, help="An earlier version (see `history`).")
@json_option
@click.pass_context
def show(ctx: click.Context, tenant: str, slug: str, version: int | None, as_json: bool) -> None:
    """An article (its current version unless --version)."""

    async def go(session: AsyncSession) -> dict[str, Any]:
        article = await kb.article_by_slug(session, slug)
        row = await kb.version_of(session, slug, version or article.version)
        return {
            **article_json(article),
            "version": row.version,
            "current_version": article.version,
            "title": row.title,
            "author": row.author,
            "at": row.created_at.isoformat(timespec="seconds"),
            "body": row.body,
        }

    data = on_kb(ctx, tenant, go)
    if as_json:
        emit_json(data)
        return
    old = "" if data["version"] == data["current_version"] else f" of {data['current_version']}"
    click.echo(f"{data['slug']}: {data['title']}")
    click.echo(
        f"version {data['version']}{old} by {data['author']} at {data['at']}; {data['status']}, {data['visibility']}, "
        f"{data['language']}, tags: {', '.join(data['tags']) or '-'}"
    )
    click.echo("")
    click.echo(data["body"].rstrip())


@kb_group.command("history")
@tenant_option
@slug_argument
@json_option
@click.pass_context
def history(ctx: click.Context, tenant: str, slug: str, as_json: bool) -> None:
    """Every version of an article: who wrote it and when."""
    versions = on_kb(ctx, tenant, lambda s: kb.history(s, slug))
    rows = [
        {"version": v.version, "at": v.created_at.isoformat(timespec="seconds"), "author": v.author, "title": v.title}
        for v in versions
    ]
    emit_json(rows) if as_json else emit_table(rows, ["version", "at", "author", "title"])


@kb_group.command("suggest")
@tenant_option
@click.argument("ticket")
@click.option("--limit", "-n", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option("--public", "public_only", is_flag=True, help="Only public articles (to send to the customer).")
@json_option
@click.pass_context
def suggest(ctx: click.Context, tenant: str, ticket: str, limit: int, public_only: bool, as_json: bool) -> None:
    """Published articles that may answer ticket T-NNNN (from its subject and latest messages)."""
    digits = ticket.upper().removeprefix("#").removeprefix("T-")
    if not digits.isdigit():
        raise AdminError(f"bad ticket number {ticket!r}: use e.g. T-1001 or 1001")
    terms, hits = on_kb(ctx, tenant, lambda s: kb.suggest(s, int(digits), limit=limit, public_only=public_only))
    if as_json:
        emit_json({"ticket": f"T-{int(digits)}", "terms": terms, "articles": [hit_json(h) for h in hits]})
        return
    click.echo(f"T-{int(digits)}: searched for {' '.join(terms) or '(no significant words)'}")
    print_hits(hits) if hits else click.echo("(no article matches)")
