"""What adapters hand the ACD (NewItem) and what they are told: the router's commands with what an adapter
needs to act (channel, tenant, its ref).

The same value reaches an in-process adapter (tvoxcc.acd.transport.InProcess) and one in another process
(a row of acd_commands, read back by tvoxcc.acd.transport.CommandReader); ``router_command()`` gives the
typed router command back (tvoxcc.queues.model) for adapters that match on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tvoxcc.acd.kinds import CommandKind
from tvoxcc.queues import model as q


@dataclass(frozen=True, slots=True)
class ItemMeta:
    """What the ACD keeps about an item besides the router's state: whose it is and the adapter's reference."""

    tenant_id: int | None = None
    ref: str = ""
    auto_accept: bool = False  # taken at once when offered (a ticket): the offer is its assignment


@dataclass(frozen=True, slots=True)
class NewItem:
    """A work item to route. ``item_id``: the adapter's (a call's channel id…) or, empty, a new one."""

    queue: str  # the router's queue name ("tenant/queue")
    channel: q.Channel = q.Channel.VOICE
    tenant_id: int | None = None
    item_id: str = ""
    contact_priority: int = 0
    caller_id: str = ""
    callback_number: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)
    ref: str = ""  # the adapter's reference (ticket number, chat id…), carried on its commands
    auto_accept: bool = False  # accepted at once when offered: the Offer is the assignment (a ticket)
    arrived_at: float | None = None  # router time it first queued (a call taken back), None: now
    queued_at: float | None = None  # router time it entered this queue (its wait so far), None: now


@dataclass(frozen=True, slots=True)
class Command:
    kind: CommandKind
    item_id: str | None = None
    agent_id: str | None = None
    queue: str | None = None
    channel: q.Channel | None = None
    tenant_id: int | None = None
    ref: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)
    seq: int = 0  # the acd_commands row (store transport); 0 in process

    def router_command(self) -> q.Command:
        p = self.payload
        match self.kind:
            case CommandKind.OFFER:
                assert self.item_id and self.agent_id and self.queue and self.channel
                return q.Offer(self.item_id, self.agent_id, self.queue, self.channel, float(p["ring_timeout_s"]))
            case CommandKind.CANCEL_OFFER:
                assert self.item_id and self.agent_id
                return q.CancelOffer(self.item_id, self.agent_id, str(p["reason"]))
            case CommandKind.PLACE_CALLBACK:
                assert self.item_id and self.agent_id and self.queue
                return q.PlaceCallback(self.item_id, self.agent_id, self.queue, str(p["number"]))
            case CommandKind.OVERFLOW:
                assert self.item_id and self.queue
                return q.Overflow(self.item_id, self.queue, q.OverflowAction(p["action"]), p.get("target"))
            case CommandKind.EXIT_QUEUE:
                assert self.item_id and self.queue
                return q.ExitQueue(self.item_id, self.queue, str(p["reason"]))
            case CommandKind.START_WRAPUP:
                assert self.agent_id
                return q.StartWrapup(self.agent_id, float(p["until"]), float(p["at"]))
            case CommandKind.END_WRAPUP:
                assert self.agent_id
                return q.EndWrapup(self.agent_id)
            case CommandKind.PAUSE_AGENT:
                assert self.agent_id
                return q.PauseAgent(self.agent_id, str(p["reason"]))


def of_router(command: q.Command, channel_of: Mapping[str, q.Channel], meta_of: Mapping[str, ItemMeta]) -> Command:
    """A router command for adapters; ``channel_of``/``meta_of``: by item id (items that just left included)."""
    match command:
        case q.Offer(item_id=item, agent_id=agent, queue=queue, channel=channel, ring_timeout_s=ring):
            return _for_item(CommandKind.OFFER, item, agent, queue, channel, meta_of, {"ring_timeout_s": ring})
        case q.CancelOffer(item_id=item, agent_id=agent, reason=reason):
            payload = {"reason": reason}
            return _for_item(CommandKind.CANCEL_OFFER, item, agent, None, channel_of.get(item), meta_of, payload)
        case q.PlaceCallback(item_id=item, agent_id=agent, queue=queue, number=number):
            payload = {"number": number}
            return _for_item(CommandKind.PLACE_CALLBACK, item, agent, queue, q.Channel.CALLBACK, meta_of, payload)
        case q.Overflow(item_id=item, from_queue=queue, action=action, target=target):
            overflow: dict[str, Any] = {"action": str(action), "target": target}
            return _for_item(CommandKind.OVERFLOW, item, None, queue, channel_of.get(item), meta_of, overflow)
        case q.ExitQueue(item_id=item, queue=queue, reason=reason):
            payload = {"reason": reason}
            return _for_item(CommandKind.EXIT_QUEUE, item, None, queue, channel_of.get(item), meta_of, payload)
        case q.StartWrapup(agent_id=agent, until=until, at=at):
            return Command(CommandKind.START_WRAPUP, agent_id=agent, payload={"until": until, "at": at})
        case q.EndWrapup(agent_id=agent):
            return Command(CommandKind.END_WRAPUP, agent_id=agent)
        case q.PauseAgent(agent_id=agent, reason=reason):
            return Command(CommandKind.PAUSE_AGENT, agent_id=agent, payload={"reason": reason})


def _for_item(
    kind: CommandKind,
    item_id: str,
    agent_id: str | None,
    queue: str | None,
    channel: q.Channel | None,
    meta_of: Mapping[str, ItemMeta],
    payload: dict[str, Any],
) -> Command:
    meta = meta_of.get(item_id, ItemMeta())
    return Command(kind, item_id, agent_id, queue, channel, meta.tenant_id, meta.ref, payload)
