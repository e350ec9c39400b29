"""One running campaign worked through the ACD: the ACD says which agents are free and picks the agent of every
call; the dialer (through its runner) picks the record and dials.

Progressive, as callbacks do: while records are due and agents of the campaign's queues are free (the ACD's
view), the desk queues one reservation per free agent: a work item of the campaign's queue, of the callback
channel (voice capacity: an agent on any voice call, inbound or campaign, is not free), below every inbound
item's priority. The router offers it as it offers any item, to the agent its strategy picks, and reserves
that agent (PlaceCallback): only then is the dialer told ``AgentReady`` and dials a line for that agent. The
customer answers: the item is answered (the agent busy in the ACD) and the agent's phone rings; the talk ends:
the item completes (wrap-up by the queue). A line not answered by a person lets the dialer dial the next record
for the same reserved agent; with nothing left to dial the reservation is given back (the item abandoned).
So an agent's voice, chat, mail and campaign work stay one availability, in the one router.

Predictive: the dialer paces its lines on the ACD's count of free agents of the campaign's queues (updated at
every step); a person who answers becomes a voice work item of the campaign's queue, ahead of the inbound
items, taken at once by the agent the router offers it to (AgentReady: the dialer connects the oldest waiting
answer to it). No agent within 2 s: the dialer abandons the line (the abandon rule) and the item leaves the
queue. The waiting answers are interchangeable, so an item is matched to whichever line is connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tvoxcc.acd import AcdService, NewItem, NotRouting
from tvoxcc.campaigns.dialer import AgentStatus as SlotStatus
from tvoxcc.campaigns.events import (
    Abandon,
    AgentAway,
    AgentReady,
    CallEnded,
    Command,
    Connect,
    ConnectFailed,
    Dial,
    Event,
    HangUp,
    LeaveMessage,
    LineResult,
)
from tvoxcc.campaigns.lines import CampaignLines
from tvoxcc.campaigns.model import DialMode, LineOutcome
from tvoxcc.campaigns.runner import CampaignRunner
from tvoxcc.queues import model as q

log = logging.getLogger(__name__)

ITEM_PREFIX = "campaign-"  # the ACD items of campaigns: ``campaign-<campaign id>-<hex>``
RESERVATION_PRIORITY = -1000  # an inbound item waiting in the same queue is offered first
ANSWER_PRIORITY = 1000  # a person who answered a predictive line has 2 s: before every inbound item


def is_campaign_item(item_id: str | None) -> bool:
    return bool(item_id) and str(item_id).startswith(ITEM_PREFIX)


def campaign_of(item_id: str) -> int | None:
    """The campaign id an item of a campaign belongs to (None: not one)."""
    head, _, rest = item_id.removeprefix(ITEM_PREFIX).partition("-")
    return int(head) if is_campaign_item(item_id) and rest and head.isdigit() else None


def reservations_wanted(free_agents: int, due_records: int, waiting: int) -> int:
    """How many more reservations to queue (negative: how many waiting ones to give back)."""
    return min(free_agents, due_records) - waiting


@dataclass
class CampaignDesk:
    acd: AcdService
    runner: CampaignRunner
    lines: CampaignLines
    queues: tuple[str, ...]  # router names ("tenant/queue") whose agents work it
    clock: Callable[[], float]
    waiting: set[str] = field(default_factory=set)  # reservations queued, not offered yet
    agent_of: dict[str, str] = field(default_factory=dict)  # reserved item -> its agent
    item_of: dict[str, str] = field(default_factory=dict)  # agent -> its reserved (then answered) item
    line_item: dict[int, str] = field(default_factory=dict)  # line -> the item of its agent
    answers: list[str] = field(default_factory=list)  # predictive: answered lines' items not offered yet, oldest first
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.runner.item_for = self._item_for

    def _item_for(self, line: int, agent: str) -> str | None:
        """The ACD item of a line's call: its agent's reservation (progressive), the answer's item (predictive)."""
        return self.line_item.get(line) or self.item_of.get(agent)

    @property
    def campaign_id(self) -> int:
        return self.runner.campaign_id

    # -- the ACD's side --------------------------------------------------------------------------------

    @property
    def predictive(self) -> bool:
        return self.runner.dialer.pacing.mode is DialMode.PREDICTIVE

    def free_agents(self) -> list[str]:
        """Agents of the campaign's queues the ACD has available now (a view of the router, no internals)."""
        return self._agents()[0]

    def _agents(self) -> tuple[list[str], int]:
        """The free agents of the campaign's queues, and how many are logged in and not paused."""
        wanted = set(self.queues)
        free, working = [], 0
        for agent_id in self.acd.agent_ids():
            view = self.acd.agent_view(agent_id)
            if view is None or not any(member.queue in wanted for member in view.members):
                continue
            if view.status not in (q.AgentStatus.LOGGED_OUT, q.AgentStatus.PAUSED):
                working += 1
            if view.status is q.AgentStatus.AVAILABLE:
                free.append(agent_id)
        return free, working

    def _see_agents(self) -> None:
        if self.predictive:
            with contextlib.suppress(NotRouting):
                free, working = self._agents()
                self.runner.dialer.acd_free = (len(free), working)

    def reserve(self) -> None:
        """Queue or give back reservations so that those waiting match the free agents and the due records."""
        dialer = self.runner.dialer
        queued = self._still_queued(self.waiting)
        if not self.queues or not dialer.running or dialer.pacing.mode is not DialMode.PROGRESSIVE:
            self._give_back(queued, len(queued))
            return
        # Those offered already (their PlaceCallback on its way) will take due records of their own.
        due = dialer.book.count_due(self.clock()) - (len(self.waiting) - len(queued))
        more = reservations_wanted(len(self.free_agents()), due, len(queued))
        if more < 0:
            self._give_back(queued, -more)
        for _ in range(max(more, 0)):
            item_id = f"{ITEM_PREFIX}{self.campaign_id}-{uuid.uuid4().hex[:12]}"
            item = NewItem(
                self.queues[len(self.waiting) % len(self.queues)],
                q.Channel.CALLBACK,
                self.runner.tenant_id,
                item_id,
                contact_priority=RESERVATION_PRIORITY,
                ref=f"campaign:{self.campaign_id}",
                # The customer answered: the router's offer to the reserved agent is the assignment (the agent
                # busy in the ACD at once); the agent's phone is rung by the campaign's lines, not by an offer.
                auto_accept=True,
            )
            if self._ask(self.acd.submit_item, item) is not None:
                self.waiting.add(item_id)

    async def on_command(self, command: q.Command) -> None:
        """A router command about one of this campaign's items, once committed."""
        async with self.lock:
            if isinstance(command, q.PlaceCallback):
                await self._reserved(command.item_id, command.agent_id)
            elif isinstance(command, q.Offer) and command.item_id in self.answers:  # taken at once (auto-accept)
                self.answers.remove(command.item_id)
                self.agent_of[command.item_id], self.item_of[command.agent_id] = command.agent_id, command.item_id
                await self._handle(AgentReady(command.agent_id))
            elif isinstance(command, q.ExitQueue):  # the queue's maximum wait: no agent came for it
                self.waiting.discard(command.item_id)
                if command.item_id in self.answers:
                    self.answers.remove(command.item_id)

    async def _reserved(self, item_id: str, agent: str) -> None:
        if item_id not in self.waiting:  # one a previous run left (restored), or given back meanwhile
            self._ask(self.acd.abandon, item_id)
            return
        self.waiting.discard(item_id)
        self.agent_of[item_id], self.item_of[agent] = agent, item_id
        await self._handle(AgentReady(agent))

    # -- the dialer's side -----------------------------------------------------------------------------

    async def on_line(self, event: LineResult | CallEnded | ConnectFailed) -> None:
        """What a line did (tvoxcc.campaigns.lines reports it)."""
        async with self.lock:
            item_id = self.line_item.get(event.line)
            await self._handle(event)
            if isinstance(event, CallEnded | ConnectFailed) and item_id is not None:
                self.line_item.pop(event.line, None)
                agent = self.agent_of.pop(item_id, None)
                if agent is not None:
                    self.item_of.pop(agent, None)
                # The talk is over (or the agent never came on it): the agent's wrap-up is the queue's.
                self._ask(self.acd.complete, item_id)
            elif isinstance(event, LineResult) and event.outcome is not LineOutcome.HUMAN:
                self.line_item.pop(event.line, None)
            elif isinstance(event, LineResult) and event.line in self.runner.dialer.waiting:
                self._route_answer()
            if isinstance(event, ConnectFailed) and event.line in self.runner.dialer.waiting:
                self._route_answer()  # its agent's phone refused it at once: the person goes to another agent

    def _route_answer(self) -> None:
        """A person answered a line with no agent: the ACD routes it (predictive)."""
        item_id = f"{ITEM_PREFIX}{self.campaign_id}-{uuid.uuid4().hex[:12]}"
        item = NewItem(
            self.queues[len(self.answers) % len(self.queues)],
            q.Channel.VOICE,
            self.runner.tenant_id,
            item_id,
            contact_priority=ANSWER_PRIORITY,
            ref=f"campaign:{self.campaign_id}",
            auto_accept=True,  # the offer is the assignment: the campaign's lines ring the agent
        )
        if self.queues and self._ask(self.acd.submit_item, item) is not None:
            self.answers.append(item_id)

    async def tick(self) -> None:
        async with self.lock:
            await self.runner.refresh()
            self._see_agents()
            await self._carry_out(await self.runner.tick(self.clock()))
            await self._release_idle()
            self.reserve()

    async def close(self) -> None:
        """Give every reservation not in use back (the process stops, or the campaign is not running)."""
        async with self.lock:
            queued = self._still_queued(self.waiting)
            self._give_back(queued, len(queued))
            for agent, item_id in list(self.item_of.items()):
                if item_id not in self.line_item.values():
                    await self._unreserve(agent, item_id)

    async def _handle(self, event: Event) -> None:
        self._see_agents()
        await self._carry_out(await self.runner.handle(event, self.clock()))
        await self._release_idle()

    async def _carry_out(self, commands: list[Command]) -> None:
        for command in commands:
            if isinstance(command, Dial):
                if command.agent is not None and command.agent in self.item_of:
                    self.line_item[command.line] = self.item_of[command.agent]
                await self.lines.dial(command)
            elif isinstance(command, Connect):
                item_id = self.line_item.get(command.line)
                if item_id is None and command.agent in self.item_of:  # predictive: the item the ACD gave it
                    item_id = self.line_item[command.line] = self.item_of[command.agent]
                elif item_id is not None:  # the customer is on: the agent is busy with it in the ACD
                    self._ask(self.acd.callback_answered, item_id)
                await self.lines.carry_out(command)
            elif isinstance(command, Abandon | HangUp | LeaveMessage):
                # 2 s without an agent: one answer's item still waiting leaves the queue (the answers are
                # interchangeable); one offered meanwhile finds no line waiting and is completed at once.
                for item_id in self._still_queued(self.answers)[:1] if isinstance(command, Abandon) else []:
                    self.answers.remove(item_id)
                    self._ask(self.acd.abandon, item_id)
                await self.lines.carry_out(command)

    async def _release_idle(self) -> None:
        """A reserved agent the dialer has no line for (nothing due): the reservation goes back to the ACD."""
        for agent, item_id in list(self.item_of.items()):
            slot = self.runner.dialer.agents.get(agent)
            if slot is not None and slot.status is SlotStatus.FREE:
                await self._unreserve(agent, item_id)

    async def _unreserve(self, agent: str, item_id: str) -> None:
        self.item_of.pop(agent, None)
        self.agent_of.pop(item_id, None)
        # A reservation goes back; an answer's item the agent took after its line was abandoned just ends.
        self._ask(self.acd.complete if self.predictive else self.acd.abandon, item_id)
        # Away for the dialer until the ACD reserves it again; what else it decides still runs.
        await self._carry_out(await self.runner.handle(AgentAway(agent), self.clock()))

    def _still_queued(self, items: Iterable[str]) -> list[str]:
        """Those of ``items`` still waiting in the router (not offered yet: no agent is on its way to them)."""
        waiting = []
        for item_id in items:
            view = self.acd.item_view(item_id)
            if view is not None and view.status is q.ItemStatus.WAITING:
                waiting.append(item_id)
        return waiting

    def _give_back(self, queued: list[str], count: int) -> None:
        """Take back ``count`` reservations still waiting (one offered meanwhile comes back when it arrives)."""
        for item_id in queued[:count]:
            self.waiting.discard(item_id)
            self._ask(self.acd.abandon, item_id)

    @staticmethod
    def _ask(request: Callable[..., object], *args: object) -> object | None:
        """One request to the ACD; None when it refused (the state does not allow it)."""
        try:
            return request(*args)
        except (q.RouterError, NotRouting) as exc:
            log.info("campaign: the ACD refused: %s", exc)
            return None
