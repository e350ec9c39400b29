"""Rebuild a router from views (tvoxcc.queues.views): the router in memory is a cache of what the store holds.

``restore`` takes an empty router and a RouterView (one taken by ``Router.view()``, or one the ACD service
built from its rows) and puts every queue, membership, agent and item back as it was at the view's time
``now``, without deciding again what was decided before; then the timers that fell due until the restore's
``now`` fire, as if the router had been idle in between:

- waiting items keep their place: their order key (priority, arrival time, arrival sequence) is the view's,
  their relaxation stage follows from when they entered the queue, their wait timers (overflow, max wait)
  are due when they were due;
- agents keep their login, pause code, wrap-up end (its timer is armed again) and the items in their hands:
  a connected item is restored connected, with its capacity in use;
- queues keep their round-robin memory, members their join positions and handled counts;
- a callback waiting for its retry keeps its retry time.

What was *in flight* when the view was taken is the one thing that cannot be trusted: an offer (an agent's
phone ringing) or a callback being dialled may have been answered, refused or lost while no router ran. Such
an item is never offered twice: the restore cancels it (CancelOffer, reason ``restored``, one per agent it
was offered to or reserved for) and puts it back waiting at its old place. Then the waiting items, best
first, are routed by their queues' strategies (so the freed agents take the best items, which need not be
the ones they rang). Those CancelOffers are the restore's outputs, followed by what the timers due by ``now``
and that routing decide. An adapter that gets a CancelOffer for an item it already
connected reports the answer again (``accept`` raises: the item waits or rings someone else).

The result does not depend on the order of the view's mappings: queues, agents and memberships are put
back sorted (queues by name, members by join position, agents by id) and items by their waiting order, so
two routers restored from equal views decide alike (tests run the reference router side by side).
The handle-time averages behind wait estimates start again from the default.
"""

from __future__ import annotations

from tvoxcc.queues.engine.base import CALLBACK_RETRY, WRAPUP_END
from tvoxcc.queues.engine.timers import Timers
from tvoxcc.queues.model import (
    CAPACITY_CHANNEL,
    CancelOffer,
    EventKind,
    ExitQueue,
    ItemStatus,
    Outputs,
    RouterError,
)
from tvoxcc.queues.state import Agent, Item, Member, QueueState
from tvoxcc.queues.views import AgentView, ItemView, RouterView

RESTORED = "restored"  # CancelOffer reason: the offer was in flight when the router was rebuilt


class Restore(Timers):
    def restore(self, view: RouterView, now: float) -> Outputs:
        """Rebuild this (empty) router from ``view`` at ``now``; returns the cancels and the decisions after."""
        if self.queues or self.agents or self.items:
            raise RouterError("restore needs an empty router")
        if now < view.now:
            raise RouterError(f"time went backwards: {now} < {view.now}")
        out = self._begin(view.now)  # rebuilt as it was when the view was taken, then brought to now
        for name in sorted(view.queues):
            queue_view = view.queues[name]
            q = QueueState(queue_view.config, self.handle_time_s)
            q.rr_last, q.next_position = queue_view.rr_last, queue_view.next_position
            self.queues[name] = q
        for agent_id in sorted(view.agents):
            self.agents[agent_id] = _agent(view.agents[agent_id])
        self._restore_members(view)
        freed: set[str] = set()
        for item_view in sorted(view.items.values(), key=lambda i: i.order_key):
            self._restore_item(item_view, freed)
        for agent in self.agents.values():
            agent.status = agent.derived_status()  # as it was: not a change to report
            self._refresh(agent, rekey=True)
            if agent.wrapup_until:
                agent.wrapup_token += 1
                self._timer(agent.wrapup_until, WRAPUP_END, agent.agent_id, agent.wrapup_token)
        self._now = now
        if self._timers and self._timers[0][0] <= now:
            self._run_timers(now)  # what fell due while no router ran: relaxation, wrap-up ends, overflow…
        if freed:
            # The freed agents go to the best waiting items (not back to the items they rang): every waiting
            # item, best first, asks its queue's strategy for an agent; the others found none before.
            waiting = [item for item in self.items.values() if item.status is ItemStatus.WAITING]
            for item in sorted(waiting, key=lambda i: i.key):
                if item.status is ItemStatus.WAITING:
                    self._route_item(item)
        for agent_id in sorted(freed):
            if agent_id in self.agents:
                self._route_agent(self.agents[agent_id])
        return out

    def _restore_members(self, view: RouterView) -> None:
        members = [
            (member_view, agent_id)
            for agent_id, agent_view in view.agents.items()
            for member_view in agent_view.members
            if member_view.queue in self.queues
        ]
        for member_view, agent_id in sorted(members, key=lambda m: (m[0].queue, m[0].position, m[1])):
            q, agent = self.queues[member_view.queue], self.agents[agent_id]
            member = Member(q.config.name, agent_id, member_view.penalty, member_view.weight, member_view.position)
            member.handled = member_view.handled
            member.tier = q.compute_tier(agent.skills)
            agent.members[q.config.name] = member
            q.members[agent_id] = member
            q.next_position = max(q.next_position, member.position + 1)
            if agent.logged_in:
                q.logged_in += 1
            self._file_member(q, member, agent)  # builds the queue's indexes; the agent is filed by _refresh

    def _restore_item(self, view: ItemView, freed: set[str]) -> None:
        q = self.queues.get(view.queue)
        if q is None:
            self._command(ExitQueue(view.item_id, view.queue, "queue-gone"))
            return
        item = Item(view.item_id, view.channel, view.contact_priority, view.caller_id, view.arrived_at)
        item.callback_number, item.skills = view.callback_number, dict(view.skills)
        item.callback_attempts, item.orig_position = view.callback_attempts, view.orig_position
        item.queue, item.queued_at = view.queue, view.queued_at
        item.key = (-view.priority, view.arrived_at, view.seq)
        item.tried = set(view.tried)
        self._arrival_seq = max(self._arrival_seq, view.seq)
        status = view.status
        if status is ItemStatus.CONNECTED:
            agent = self.agents.get(view.agent_id or "")
            if agent is None:
                self._command(ExitQueue(view.item_id, view.queue, "agent-gone"))
                return
            item.status, item.agent_id, item.connected_at = ItemStatus.CONNECTED, agent.agent_id, view.connected_at
            agent.take(CAPACITY_CHANNEL[item.channel], item.item_id)
            agent.connected += 1
            self.items[item.item_id] = item
            return
        self.items[item.item_id] = item
        if status is ItemStatus.CALLBACK_PENDING:
            item.status, item.retry_at = ItemStatus.CALLBACK_PENDING, view.retry_at
            self._timer(view.retry_at, CALLBACK_RETRY, item.item_id, item.queue_token)
        else:
            in_flight = view.offered_to if status is ItemStatus.OFFERED else ()
            if status is ItemStatus.DIALING and view.agent_id is not None:
                in_flight = (view.agent_id,)
            for agent_id in in_flight:
                self._command(CancelOffer(item.item_id, agent_id, RESTORED))
                self._event(EventKind.OFFER_CANCELLED, queue=view.queue, item_id=item.item_id, agent_id=agent_id)
                freed.add(agent_id)
            self._enter_waiting(item, q)
        self._arm_wait_timers(item, q)


def _agent(view: AgentView) -> Agent:
    agent = Agent(view.config)
    agent.logged_in, agent.login_at, agent.idle_since = view.logged_in, view.login_at, view.idle_since
    agent.interface, agent.handled = view.interface, view.handled
    if view.logged_in:
        agent.pause_code, agent.wrapup_until = view.pause_code, view.wrapup_until
    return agent
