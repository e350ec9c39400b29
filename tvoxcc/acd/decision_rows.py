"""What the ACD keeps beside its router to turn decisions into rows for the writer (tvoxcc.acd.writer).

The router knows items, agents and queues; the rows also need each item's tenant, reference and channel
(``ItemMeta``), each queue's tenant, and which queue rows changed since last written. ``DecisionRows`` holds
that and builds the ``Changes`` of one decision (``touched``), of a batch (``build``) or of everything
(``of_all``, after a restore or a reconfiguration).
"""

from __future__ import annotations

from collections.abc import Mapping

from tvoxcc.acd.commands import ItemMeta, of_router
from tvoxcc.acd.rows import Changes, touched
from tvoxcc.queues import model as q
from tvoxcc.queues.router import Router
from tvoxcc.queues.views import RouterView


class DecisionRows:
    def __init__(self) -> None:
        self.tenants: Mapping[str, int] = {}
        self.meta: dict[str, ItemMeta] = {}
        self.channel: dict[str, q.Channel] = {}
        self.queue_rows: dict[str, tuple[int, int]] = {}  # queue -> (rr_last, next_position) last written

    def touched(self, out: q.Outputs, now: float) -> Changes:
        """A decision for the writer: its commands, and the names of what it changed (rows: ``build``)."""
        hit = touched(out)
        changes = Changes(router_at=now, touched_items=set(hit.items), touched_agents=set(hit.agents))
        changes.touched_queues = set(hit.queues)
        changes.commands = [of_router(c, self.channel, self.meta) for c in out.commands]
        return changes

    def build(self, router: Router, changes: Changes) -> None:
        """The rows of what a batch's decisions touched, as the router is now (the writer calls it when it takes
        the batch, with no decision in between: exactly the state after the batch's last decision)."""
        items = {}
        for item_id in changes.touched_items:
            view = router.item_view(item_id)
            if view is None:
                meta = self.meta.pop(item_id, ItemMeta())
                self.channel.pop(item_id, None)
            else:
                meta = self.meta.get(item_id, ItemMeta())
                self.channel[item_id] = view.channel  # a callback answered becomes a call
            items[item_id] = (view, meta)
        tenants = self.tenants
        agents = [(a, tenants.get(a.agent_id)) for a in map(router.agent_view, changes.touched_agents) if a]
        queues = [(v, tenants.get(v.name)) for v in map(router.queue_view, changes.touched_queues) if v]
        queues = [(v, t) for v, t in queues if self.queue_rows.get(v.name) != (v.rr_last, v.next_position)]
        self.queue_rows.update((v.name, (v.rr_last, v.next_position)) for v, _ in queues)  # unchanged: not written
        changes.record(items, agents, queues)
        changes.touched_items, changes.touched_agents, changes.touched_queues = set(), set(), set()

    def of_all(self, view: RouterView, out: q.Outputs, router_at: float) -> Changes:
        """Every row of the router's ``view``, with ``out``'s commands (the writer replaces all rows with them)."""
        changes = Changes(router_at=router_at)
        changes.commands = [of_router(c, self.channel, self.meta) for c in out.commands]
        self.queue_rows = {name: (v.rr_last, v.next_position) for name, v in view.queues.items()}
        for item_id in list(self.meta):
            if item_id not in view.items:
                self.meta.pop(item_id)
                self.channel.pop(item_id, None)
        changes.record(
            {item_id: (item, self.meta.get(item_id, ItemMeta())) for item_id, item in view.items.items()},
            [(agent, self.tenants.get(agent_id)) for agent_id, agent in view.agents.items()],
            [(queue, self.tenants.get(name)) for name, queue in view.queues.items()],
        )
        return changes
