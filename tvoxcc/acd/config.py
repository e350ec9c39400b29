"""Where the ACD's queues, agents and memberships come from: the organisation tables, or a test's own.

The router takes its configuration as tvoxcc.queues.model values; ``AcdConfig`` adds which tenant owns each
router queue and agent (rows carry it, ``acd status`` filters by it). ``StoreConfig`` reads them from the
store the way ``voice run`` does (tvoxcc.voice.acd_config.AcdDirectory, the one reader of those tables).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select, type_coerce
from sqlalchemy.types import NullType

from tvoxcc.queues import model as q
from tvoxcc.queues.sync import Membership
from tvoxcc.store import models as m
from tvoxcc.store import peek
from tvoxcc.store.engine import Store

if TYPE_CHECKING:
    from tvoxcc.voice.acd_config import AcdDirectory


@dataclass(frozen=True, slots=True)
class AcdConfig:
    queues: Sequence[q.QueueConfig] = ()
    agents: Sequence[tuple[q.AgentConfig, Sequence[Membership]]] = ()
    tenants: Mapping[str, int] = field(default_factory=dict)  # router queue name or agent id -> tenant id


class ConfigSource(Protocol):
    async def load(self) -> AcdConfig: ...


# Every table the configuration is read from (tvoxcc.voice.acd_config.AcdDirectory and ``load`` below).
CONFIG_TABLES = (m.Tenant, m.Service, m.Queue, m.QueueSkill, m.Skill, m.Agent, m.AgentSkill, m.QueueMember)
# Their rows as stored, one statement each, built once (tvoxcc.store.peek): the columns untyped, so no value is
# converted (JSON parsed, datetimes made aware) only to be compared with the last look's.
_ROWS_OF = tuple(
    select(*(type_coerce(c, NullType()).label(c.name) for c in t.__table__.columns)).order_by(*t.__table__.primary_key)
    for t in CONFIG_TABLES
)


class StoreConfig:
    """``directory``: the reader to use (an embedding voice service passes its own, so that what it keeps
    besides, announcements, recording and survey per queue, follows the same reads); default a new one.

    The ACD looks for changes every few seconds; reading and building the whole configuration (every agent with
    its skills and memberships, through the ORM) cost ~10 ms of CPU per 100 agents each time. ``load`` first
    reads the configuration tables' rows as stored (one cheap read, tvoxcc.store.peek) and hands back the
    configuration it built last when not one row changed."""

    def __init__(self, store: Store, directory: AcdDirectory | None = None) -> None:
        self.store = store
        self.directory = directory
        self._rows: peek.Tables | None = None
        self._built: AcdConfig | None = None

    async def load(self) -> AcdConfig:
        rows = await peek.plain_rows(self.store, _ROWS_OF)
        if self._built is not None and rows == self._rows:
            return self._built
        self._built = await self._build()
        self._rows = rows
        return self._built

    async def _build(self) -> AcdConfig:
        from tvoxcc.voice.acd_config import AcdDirectory, QueueKey, agent_id

        directory = self.directory or AcdDirectory(self.store)
        queues = await directory.queue_configs()
        agents = await directory.agent_configs()
        tenants: dict[str, int] = {}
        async with self.store.session() as session:
            names = dict((await session.execute(select(m.Tenant.id, m.Tenant.name))).all())
            for tenant_id, name in (await session.execute(select(m.Queue.tenant_id, m.Queue.name))).all():
                tenants[QueueKey(names[tenant_id], name).router_name] = tenant_id
            for tenant_id, name in (await session.execute(select(m.Agent.tenant_id, m.Agent.name))).all():
                tenants[agent_id(names[tenant_id], name)] = tenant_id
        return AcdConfig(queues, agents, tenants)


class FixedConfig:
    """A configuration held in memory (tests, benches, an embedding that builds its own)."""

    def __init__(self, config: AcdConfig) -> None:
        self.config = config

    async def load(self) -> AcdConfig:
        return self.config
