"""Where the ACD's queues, agents and memberships come from: the organisation tables, or a test's own.

The router takes its configuration as tvoxcc.queues.model values; ``AcdConfig`` adds which tenant owns each
router queue and agent (rows carry it, ``acd status`` filters by it). ``StoreConfig`` reads them from the
store the way ``voice run`` does (tvoxcc.voice.acd_config.AcdDirectory, the one reader of those tables).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select

from tvoxcc.queues import model as q
from tvoxcc.queues.sync import Membership
from tvoxcc.store import models as m
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


class StoreConfig:
    """``directory``: the reader to use (an embedding voice service passes its own, so that what it keeps
    besides, announcements, recording and survey per queue, follows the same reads); default a new one."""

    def __init__(self, store: Store, directory: AcdDirectory | None = None) -> None:
        self.store = store
        self.directory = directory

    async def load(self) -> AcdConfig:
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
