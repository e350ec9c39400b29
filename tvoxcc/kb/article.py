"""Article rules: what a valid article is, how an edit makes a new version, when it may be published."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[-_]([a-z]{2}|[0-9]{3}))?$", re.I)  # en, it, pt-BR, es-419
TAG = re.compile(r"^[^\W_][\w-]{0,31}$")
MAX_SLUG, MAX_TITLE, MAX_TAGS, MAX_AUTHOR = 128, 300, 20, 64
T = TypeVar("T")
R = TypeVar("R")


class Visibility(StrEnum):
    PUBLIC = "public"  # customers may read it (replies, a help center)
    INTERNAL = "internal"  # agents only


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class KbError(Exception):
    """Bad input for the Knowledge Base; one message per problem."""

    def __init__(self, *problems: str) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class ArticleFields:
    """What an author writes; status and version are kept by the rules below."""

    slug: str
    title: str
    body: str
    language: str = "en"
    tags: tuple[str, ...] = ()
    visibility: str = Visibility.INTERNAL


@dataclass(frozen=True)
class Change:
    """An edit: None leaves a field as it is. Tags are added and dropped one by one."""

    title: str | None = None
    body: str | None = None
    language: str | None = None
    add_tags: tuple[str, ...] = ()
    drop_tags: tuple[str, ...] = ()
    visibility: str | None = None


@dataclass(frozen=True)
class VersionRecord:
    version: int
    title: str
    body: str
    author: str
    at: datetime


def check_slug(slug: str) -> str:
    if not SLUG.match(slug) or len(slug) > MAX_SLUG:
        raise KbError(
            f"bad slug {slug!r}: lower-case letters, digits and single hyphens, at most {MAX_SLUG} characters"
        )
    return slug


def check_title(title: str) -> str:
    clean = " ".join(title.split())
    if not clean:
        raise KbError("empty title: an article needs one")
    if len(clean) > MAX_TITLE:
        raise KbError(f"title too long: {len(clean)} characters, at most {MAX_TITLE}")
    return clean


def check_language(language: str) -> str:
    match = LANGUAGE.match(language.strip())
    if not match:
        raise KbError(f"bad language {language!r}: use a code like en, it or pt-BR")
    base, region = match.group(1).lower(), match.group(2)
    return f"{base}-{region.upper()}" if region else base


def check_tags(tags: Iterable[str]) -> tuple[str, ...]:
    clean: list[str] = []
    for tag in tags:
        t = tag.strip().lower()
        if not TAG.match(t):
            raise KbError(f"bad tag {tag!r}: letters, digits, '-' and '_', at most 32 characters")
        if t not in clean:
            clean.append(t)
    if len(clean) > MAX_TAGS:
        raise KbError(f"too many tags: {len(clean)}, at most {MAX_TAGS}")
    return tuple(clean)


def check_visibility(visibility: str) -> str:
    if visibility not in set(Visibility):
        raise KbError(f"bad visibility {visibility!r}: public or internal")
    return visibility


def check_author(author: str) -> str:
    clean = author.strip()
    if not clean or len(clean) > MAX_AUTHOR:
        raise KbError(f"bad author {author!r}: a name of 1 to {MAX_AUTHOR} characters")
    return clean


def new_article(fields: ArticleFields) -> ArticleFields:
    """A checked, normalised article, or a KbError naming every problem at once."""
    problems: list[str] = []

    def checked(check: Callable[[T], R], value: T, default: R) -> R:
        try:
            return check(value)
        except KbError as exc:
            problems.extend(exc.problems)
            return default

    article = ArticleFields(
        slug=checked(check_slug, fields.slug, ""),
        title=checked(check_title, fields.title, ""),
        body=fields.body,
        language=checked(check_language, fields.language, ""),
        tags=checked(check_tags, fields.tags, ()),
        visibility=checked(check_visibility, fields.visibility, ""),
    )
    if problems:
        raise KbError(*problems)
    return article


def apply_change(current: ArticleFields, change: Change) -> ArticleFields:
    """The article after ``change``; refused when it changes nothing (a version must say something new)."""
    drop = set(check_tags(change.drop_tags))
    unknown = sorted(drop - set(current.tags))
    if unknown:
        raise KbError(f"article {current.slug!r} has no tag {', '.join(repr(t) for t in unknown)}")
    tags = check_tags([*(t for t in current.tags if t not in drop), *change.add_tags])
    updated = replace(
        current,
        title=current.title if change.title is None else change.title,
        body=current.body if change.body is None else change.body,
        language=current.language if change.language is None else change.language,
        visibility=current.visibility if change.visibility is None else change.visibility,
        tags=tags,
    )
    updated = new_article(updated)
    if updated == current:
        raise KbError(f"nothing changed in {current.slug!r}: no new version made")
    return updated


def version_record(fields: ArticleFields, version: int, author: str, now: datetime) -> VersionRecord:
    """Every edit is kept: who wrote version ``version`` and when."""
    return VersionRecord(version, fields.title, fields.body, check_author(author), now)


def check_publish(slug: str, status: str, body: str) -> None:
    if status == ArticleStatus.PUBLISHED:
        raise KbError(f"article {slug!r} is already published")
    if not body.strip():
        raise KbError(f"cannot publish {slug!r}: its body is empty")


def check_unpublish(slug: str, status: str) -> None:
    if status != ArticleStatus.PUBLISHED:
        raise KbError(f"article {slug!r} is not published")
