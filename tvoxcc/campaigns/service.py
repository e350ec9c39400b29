"""Running campaigns inside `voice run`: the process that owns ARI and embeds the ACD works every campaign.

Why there: a campaign's calls are ACD work items (tvoxcc.campaigns.desk), its lines are ARI channels, and the
reservation pattern is the callbacks' one, which lives there too; a second process would need a second ARI
application and would reach the router only through rows. So `tvoxcc campaign start|pause|stop` only flip the
campaign's row; this service sees the change at its next poll (every ``poll_s``): a campaign turned ``running``
is loaded (its runner restores its records, ledger and holds), one paused or stopped gives its waiting
reservations back and lets the lines in flight end. Only the ACD that holds the lease runs campaigns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import select

from tvoxcc.acd import AcdService, NotRouting
from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.hierarchy import working_queues
from tvoxcc.ari import AriClient
from tvoxcc.ari.events import ChannelDestroyed, PlaybackFinished, StasisEnd, StasisStart
from tvoxcc.campaigns.desk import CampaignDesk, campaign_of
from tvoxcc.campaigns.events import CallEnded, ConnectFailed, LineResult
from tvoxcc.campaigns.lines import AGENT_LEG, AMD_LEG, CAMPAIGN_LEG, CampaignLines
from tvoxcc.campaigns.model import CampaignStatus, DialMode
from tvoxcc.campaigns.runner import CampaignRunner
from tvoxcc.campaigns.spec import CampaignSettings
from tvoxcc.queues import model as q
from tvoxcc.store import models as m
from tvoxcc.store import peek
from tvoxcc.store.engine import Store
from tvoxcc.voice.callbacks import OutboundRoute

log = logging.getLogger(__name__)

LEGS = frozenset({CAMPAIGN_LEG, AMD_LEG, AGENT_LEG})
RETRY_LOAD_S = 60.0
WORKED_MODES = (DialMode.PROGRESSIVE.value, DialMode.PREDICTIVE.value)  # preview: the desktop (campaigns.preview)
# Built once: a statement built at every poll cost more CPU than its query (tvoxcc.store.peek).
_RUNNING = (
    select(m.Campaign.id, m.Tenant.name, m.Campaign.name)
    .join(m.Tenant, m.Tenant.id == m.Campaign.tenant_id)
    .where(m.Campaign.status == CampaignStatus.RUNNING.value, m.Campaign.mode.in_(WORKED_MODES))
)


class CampaignService:
    def __init__(
        self,
        store: Store,
        ari: AriClient,
        acd: AcdService,
        *,
        clock: Callable[[], float] = time.time,
        poll_s: float = 0.5,  # also how late the 2 s abandon rule may be judged
    ) -> None:
        self.store, self.ari, self.acd, self.clock, self.poll_s = store, ari, acd, clock, poll_s
        self.desks: dict[int, CampaignDesk] = {}
        self._not_before: dict[int, float] = {}  # a campaign that could not be loaded: tried again from then
        self._cleared = False  # the campaign items a previous run left in the ACD are ended (once, on routing)
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="campaigns")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for desk in self.desks.values():
            with contextlib.suppress(NotRouting):
                await desk.close()

    async def _run(self) -> None:
        while True:
            try:
                if self.acd.routing:
                    await self.poll()
            except Exception:  # one bad poll (the database away a moment) must not end the campaigns
                log.exception("campaigns: poll failed")
            await asyncio.sleep(self._until_next())

    def _until_next(self) -> float:
        """The next poll, or sooner the moment an answered line's 2 s run out (the abandon rule, on time)."""
        deadlines = [d for desk in self.desks.values() if (d := desk.runner.dialer.next_deadline()) is not None]
        return min([self.poll_s, *(max(d - self.clock(), 0.01) for d in deadlines)])

    async def poll(self) -> None:
        """Load campaigns turned running; let each desk pace its dialer and match reservations to free agents."""
        if not self._cleared:
            self._clear_left()
        for campaign_id, tenant, name in await self._running():
            if campaign_id not in self.desks and self._not_before.get(campaign_id, 0.0) <= self.clock():
                desk = await self._load(tenant, name)
                if desk is None:  # said once a minute, not at every poll
                    self._not_before[campaign_id] = self.clock() + RETRY_LOAD_S
                else:
                    self.desks[campaign_id] = desk
                    log.info("campaign %s/%s: worked through the ACD", tenant, name)
        for desk in list(self.desks.values()):
            await desk.tick()

    def _clear_left(self) -> None:
        """The items of campaigns a previous run left in the ACD (restored from its rows) hold agents nobody will
        free: their lines went with that run (the runner puts their records back), so each is ended now."""
        self._cleared = True
        for item_id, item in self.acd.view().items.items():
            if campaign_of(item_id) is None:
                continue
            end = self.acd.complete if item.status is q.ItemStatus.CONNECTED else self.acd.abandon
            with contextlib.suppress(q.RouterError):
                end(item_id)
            log.info("campaigns: item %s a previous run left is ended", item_id)

    async def _running(self) -> list[tuple[int, str, str]]:
        rows = await peek.rows(self.store, _RUNNING)  # every poll: a cheap read, no session
        return [(int(i), str(t), str(n)) for i, t, n in rows]

    async def _load(self, tenant: str, name: str) -> CampaignDesk | None:
        try:
            runner = await CampaignRunner.load(self.store, tenant, name, self.clock())
        except AdminError as exc:
            log.warning("campaign %s/%s: %s", tenant, name, exc)
            return None
        async with self.store.tenant(runner.tenant_id) as session:
            outbound = await session.scalar(select(m.Tenant.outbound).where(m.Tenant.id == runner.tenant_id))
            queue_names = tuple(f"{tenant}/{queue}" for queue in await working_queues(session, runner.campaign_id))
            settings = await session.scalar(select(m.Campaign.settings).where(m.Campaign.id == runner.campaign_id))
        if not outbound:
            log.warning("campaign %s/%s: tenant %s has no outbound route: not dialled", tenant, name, tenant)
            return None
        message = CampaignSettings.from_json(settings or {}).abandon_message
        desks = self.desks

        async def report(event: LineResult | CallEnded | ConnectFailed) -> None:
            # Queued, not awaited: the lines report from inside the desk's own commands too (a failed originate
            # of a Connect or a Dial), where the desk holds its lock — awaiting it there would wait for ever.
            # The lock is FIFO, so the reports still reach the desk in the order they were made.
            self._spawn(desks[runner.campaign_id].on_line(event))

        lines = CampaignLines(self.ari, OutboundRoute.from_data(outbound), report, message)
        return CampaignDesk(self.acd, runner, lines, queue_names, self.clock)

    # -- the ACD's commands and ARI's events about campaigns --------------------------------------------

    def take_command(self, command: q.Command) -> bool:
        """A committed router command: True when it is about a campaign's item (then it is carried out here)."""
        item_id = getattr(command, "item_id", None)
        campaign_id = campaign_of(item_id) if isinstance(item_id, str) else None
        if campaign_id is None:
            return False
        desk = self.desks.get(campaign_id)
        if desk is not None:
            self._spawn(desk.on_command(command))
        elif isinstance(command, q.PlaceCallback):  # a reservation a previous run left: give the agent back
            with contextlib.suppress(q.RouterError, NotRouting):
                self.acd.abandon(command.item_id)
        return True

    def claims(self, event: object) -> bool:
        """An ARI event of a campaign's line or agent leg."""
        if isinstance(event, StasisStart):
            return bool(event.args) and event.args[0] in LEGS
        if isinstance(event, StasisEnd | ChannelDestroyed):
            return self._desk_of(event.channel.id) is not None
        if isinstance(event, PlaybackFinished):
            return self._desk_of(event.playback.target_uri.removeprefix("channel:")) is not None
        return False

    async def on_event(self, event: object) -> None:
        if isinstance(event, StasisStart | StasisEnd | ChannelDestroyed):
            desk = self._desk_of(event.channel.id)
        elif isinstance(event, PlaybackFinished):
            desk = self._desk_of(event.playback.target_uri.removeprefix("channel:"))
        else:
            return
        if desk is not None:
            await desk.lines.on_event(event)

    def _desk_of(self, channel_id: str) -> CampaignDesk | None:
        return next((d for d in self.desks.values() if channel_id in d.lines.calls), None)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
