"""Which contacts a supervisor scoped to groups sees: those their groups have dealt with.

The rule: a contact is theirs when it — or a contact merged into it — has an interaction (a call, callback,
chat, mail, campaign call…) in one of their groups' queues or taken by one of their groups' agents. A contact
nobody of theirs ever dealt with (one just imported, another team's customer) is not: the web API answers it as
it answers a contact that does not exist. Everyone else (an admin, an unscoped supervisor, an agent) sees every
contact of the tenant. Queries run in the tenant's session (tvoxcc.store.tenancy scopes them).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.journey.store import contact_and_family
from tvoxcc.store import models as m


@dataclass(frozen=True, slots=True)
class GroupScope:
    """A scoped supervisor's groups, as the names of their agents and of their queues."""

    agents: frozenset[str]
    queues: frozenset[str]


def _dealt_with(scope: GroupScope) -> ColumnElement[bool]:
    """An interaction of the scope: in one of its queues, or taken by one of its agents."""
    return or_(
        m.Interaction.queue_id.in_(select(m.Queue.id).where(m.Queue.name.in_(sorted(scope.queues)))),
        m.Interaction.agent_id.in_(select(m.Agent.id).where(m.Agent.name.in_(sorted(scope.agents)))),
    )


def _contacts_dealt_with(scope: GroupScope) -> Select[int | None]:
    return select(m.Interaction.contact_id).where(m.Interaction.contact_id.is_not(None), _dealt_with(scope)).distinct()


def survivor(links: Mapping[int, int | None], contact_id: int) -> int:
    """The contact an id stands for today, following merges (``links``: merged contact -> the one it went into)."""
    seen: set[int] = set()
    while (parent := links.get(contact_id)) is not None and contact_id not in seen:
        seen.add(contact_id)
        contact_id = parent
    return contact_id


def visible(dealt_with: Collection[int], links: Mapping[int, int | None]) -> set[int]:
    """The contacts (survivors) seen, given those dealt with (any of a family) and the merge links."""
    return {survivor(links, contact_id) for contact_id in dealt_with}


async def visible_contacts(session: AsyncSession, scope: GroupScope) -> set[int]:
    """The ids of the (surviving) contacts the scope sees."""
    dealt_with = [c for c in (await session.execute(_contacts_dealt_with(scope))).scalars() if c is not None]
    links = await session.execute(
        select(m.Contact.id, m.Contact.merged_into_id).where(m.Contact.merged_into_id.is_not(None))
    )
    return visible(dealt_with, {contact_id: parent for contact_id, parent in links.all()})


async def sees_contact(session: AsyncSession, scope: GroupScope, contact_id: int) -> bool:
    """Whether the scope sees the contact ``contact_id`` (through its survivor's whole family)."""
    _, family = await contact_and_family(session, contact_id)
    found = await session.scalar(
        select(exists().where(m.Interaction.contact_id.in_(sorted(family)), _dealt_with(scope)))
    )
    return bool(found)
