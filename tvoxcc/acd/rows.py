"""The rows of a decision, and a router view from rows: pure, no I/O.

``touched(outputs)`` names what a router call changed (every change of an item, agent or queue comes with
an event or command naming it); a decision's Changes carry those names, and when the writer takes a batch
the service takes the views of all of them (tvoxcc.queues.views) at once and ``Changes.record`` turns them
into row values: an item view is its row, a gone item a delete. So a batch builds and writes each row once,
however many of its decisions touched it.

``router_view(items, agents, queues, ...)`` goes back: stored rows plus the configuration in force give the
RouterView a router is restored from (tvoxcc.queues.engine.restore).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tvoxcc.acd.commands import Command, ItemMeta
from tvoxcc.queues import model as q
from tvoxcc.queues.views import AgentView, ItemView, MemberView, QueueView, RouterView

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Touched:
    items: frozenset[str]
    agents: frozenset[str]
    queues: frozenset[str]


def touched(outputs: q.Outputs) -> Touched:
    items: set[str] = set()
    agents: set[str] = set()
    queues: set[str] = set()
    for event in outputs.events:
        if event.item_id:
            items.add(event.item_id)
        if event.agent_id:
            agents.add(event.agent_id)
        if event.queue:
            queues.add(event.queue)
    for command in outputs.commands:
        item_id = getattr(command, "item_id", None)
        if item_id:
            items.add(item_id)
        agent_id = getattr(command, "agent_id", None)
        if agent_id:
            agents.add(agent_id)
    return Touched(frozenset(items), frozenset(agents), frozenset(queues))


def item_row(view: ItemView, meta: ItemMeta) -> Row:
    return {
        "item_id": view.item_id,
        "tenant_id": meta.tenant_id,
        "queue": view.queue,
        "channel": str(view.channel),
        "status": str(view.status),
        "contact_priority": view.contact_priority,
        "priority": view.priority,
        "arrived_at": view.arrived_at,
        "queued_at": view.queued_at,
        "seq": view.seq,
        "skills": dict(view.skills),
        "caller_id": view.caller_id,
        "callback_number": view.callback_number,
        "ref": meta.ref,
        "auto_accept": meta.auto_accept,
        "offered_to": list(view.offered_to),
        "agent": view.agent_id,
        "connected_at": view.connected_at,
        "tried": list(view.tried),
        "callback_attempts": view.callback_attempts,
        "retry_at": view.retry_at,
        "orig_position": view.orig_position,
    }


def agent_row(view: AgentView, tenant_id: int | None) -> Row:
    return {
        "agent_id": view.agent_id,
        "tenant_id": tenant_id,
        "status": str(view.status),
        "logged_in": view.logged_in,
        "login_at": view.login_at,
        "idle_since": view.idle_since,
        "pause_code": view.pause_code,
        "wrapup_until": view.wrapup_until,
        "interface": view.interface,
        "handled": view.handled,
        "capacity": {str(ch): n for ch, n in view.capacity.items()},
        "load": {str(ch): n for ch, n in view.load.items()},
        "members": [
            {"queue": m.queue, "penalty": m.penalty, "weight": m.weight, "position": m.position, "handled": m.handled}
            for m in view.members
        ],
    }


def queue_row(view: QueueView, tenant_id: int | None) -> Row:
    return {"name": view.name, "tenant_id": tenant_id, "rr_last": view.rr_last, "next_position": view.next_position}


def command_row(command: Command) -> Row:
    return {
        "kind": str(command.kind),
        "channel": None if command.channel is None else str(command.channel),
        "tenant_id": command.tenant_id,
        "item_id": command.item_id,
        "agent_id": command.agent_id,
        "queue": command.queue,
        "ref": command.ref,
        "payload": dict(command.payload),
    }


@dataclass(slots=True)
class Changes:
    """Rows to write, merged over decisions: the latest values of each row, and what the decisions produced."""

    items: dict[str, Row | None] = field(default_factory=dict)  # None: the item is gone
    agents: dict[str, Row] = field(default_factory=dict)
    queues: dict[str, Row] = field(default_factory=dict)
    commands: list[Command] = field(default_factory=list)
    inputs: dict[int, str | None] = field(default_factory=dict)  # acd_inputs seq -> error (None: done)
    router_at: float = 0.0
    # What the decisions changed, their rows not built yet: the writer builds them once per batch, from the
    # router as it is when the batch is taken (tvoxcc.acd.decision_rows.DecisionRows.build).
    touched_items: set[str] = field(default_factory=set)
    touched_agents: set[str] = field(default_factory=set)
    touched_queues: set[str] = field(default_factory=set)

    def record(
        self,
        items: Mapping[str, tuple[ItemView | None, ItemMeta]],
        agents: Iterable[tuple[AgentView, int | None]],
        queues: Iterable[tuple[QueueView, int | None]],
    ) -> None:
        for item_id, (view, meta) in items.items():
            self.items[item_id] = None if view is None else item_row(view, meta)
        for agent, tenant_id in agents:
            self.agents[agent.agent_id] = agent_row(agent, tenant_id)
        for queue, tenant_id in queues:
            self.queues[queue.name] = queue_row(queue, tenant_id)

    def merge(self, later: Changes) -> None:
        self.items.update(later.items)
        self.agents.update(later.agents)
        self.queues.update(later.queues)
        self.commands.extend(later.commands)
        self.inputs.update(later.inputs)
        self.router_at = max(self.router_at, later.router_at)
        self.touched_items |= later.touched_items
        self.touched_agents |= later.touched_agents
        self.touched_queues |= later.touched_queues


def item_view(row: Mapping[str, Any]) -> ItemView:
    return ItemView(
        row["item_id"],
        row["queue"],
        q.Channel(row["channel"]),
        q.ItemStatus(row["status"]),
        row["arrived_at"],
        row["queued_at"],
        row["seq"],
        row["contact_priority"],
        row["caller_id"],
        row["callback_number"],
        dict(row["skills"]),
        tuple(row["offered_to"]),
        row["agent"],
        row["connected_at"],
        tuple(row["tried"]),
        row["callback_attempts"],
        row["retry_at"],
        row["orig_position"],
        row["priority"],
    )


def item_meta(row: Mapping[str, Any]) -> ItemMeta:
    return ItemMeta(row["tenant_id"], row["ref"], row["auto_accept"])


Membership = tuple[str, int, int]  # queue, penalty, weight (tvoxcc.queues.sync)
Answer = tuple[str, float]  # the agent who answered an offer, and when


def with_answers(item_rows: Sequence[Row], answers: Mapping[str, Answer]) -> list[Row]:
    """The rows with the answers an adapter proves (``item id -> Answer``) that they lack: an offered item whose
    answering agent was among those it rang is connected to that agent (its offer is not cancelled)."""
    rows = []
    for row in item_rows:
        answer = answers.get(row["item_id"])
        if answer is not None and row["status"] == q.ItemStatus.OFFERED and answer[0] in row["offered_to"]:
            status = str(q.ItemStatus.CONNECTED)
            row = {**row, "status": status, "agent": answer[0], "offered_to": [], "connected_at": answer[1]}
        rows.append(row)
    return rows


def router_view(
    now: float,
    queue_configs: Sequence[q.QueueConfig],
    agent_configs: Sequence[tuple[q.AgentConfig, Sequence[Membership]]],
    item_rows: Iterable[Mapping[str, Any]],
    agent_rows: Iterable[Mapping[str, Any]],
    queue_rows: Iterable[Mapping[str, Any]],
) -> RouterView:
    """The view to restore from: configuration in force, with the routing state the rows kept.

    Rows of agents no longer configured are left out (their connected items end as ``agent-gone``);
    memberships are the configured ones, with the join position and handled count a row kept for them.
    """
    queue_state = {row["name"]: row for row in queue_rows}
    queues = {}
    for config in queue_configs:
        row = queue_state.get(config.name)
        rr_last, next_position = (row["rr_last"], row["next_position"]) if row else (-1, 0)
        queues[config.name] = QueueView(config.name, config, rr_last, next_position)
    agent_state = {row["agent_id"]: row for row in agent_rows}
    agents = {}
    next_position = {name: view.next_position for name, view in queues.items()}
    for agent_config, memberships in agent_configs:
        row = agent_state.get(agent_config.agent_id, {})
        kept = {m["queue"]: m for m in row.get("members", [])}
        members = []
        for queue, penalty, weight in memberships:
            if queue not in queues:
                continue
            if queue in kept:
                position, handled = kept[queue]["position"], kept[queue]["handled"]
            else:  # joined while no ACD ran: after everyone else
                position, handled = next_position[queue], 0
            next_position[queue] = max(next_position[queue], position + 1)
            members.append(MemberView(queue, penalty, weight, position, handled))
        agents[agent_config.agent_id] = AgentView(
            agent_config.agent_id,
            dict(agent_config.capacity),
            agent_config.voice_blocks_others,
            dict(agent_config.skills),
            tuple(members),
            bool(row.get("logged_in", False)),
            row.get("pause_code"),
            row.get("wrapup_until", 0.0),
            row.get("login_at", 0.0),
            row.get("idle_since", 0.0),
            row.get("interface", ""),
            row.get("handled", 0),
        )
    items = {row["item_id"]: item_view(row) for row in item_rows}
    return RouterView(now, queues, agents, items)
