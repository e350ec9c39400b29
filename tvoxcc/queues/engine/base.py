"""Runtime state of the router and the glue every layer uses: outputs, timers, lookups.

Each public call begins with ``_begin`` (tvoxcc.queues.engine.timers), which opens a fresh Outputs;
the helpers here append to it, so a layer reports a command, an event or a queue_log line in one call.
"""

from __future__ import annotations

import heapq
import random

from tvoxcc.queues.model import Command, Event, EventKind, Outputs, RouterError
from tvoxcc.queues.state import Agent, Item, QueueState

# Timer kinds; a timer is (due, seq, kind, id, token, extra) and is ignored when its token is stale.
RELAX, OVERFLOW_WAIT, MAX_WAIT, OFFER_TIMEOUT, WRAPUP_END, CALLBACK_RETRY = range(6)
Timer = tuple[float, int, int, str, int, int]


class RouterBase:
    def __init__(
        self,
        rng: random.Random,
        *,
        handle_time_s: float = 180.0,
        callback_retry_s: float = 300.0,
        callback_attempts: int = 3,
        max_overflow_hops: int = 8,
    ) -> None:
        self.rng = rng
        self.handle_time_s = handle_time_s
        self.callback_retry_s = callback_retry_s
        self.callback_attempts = callback_attempts
        self.max_overflow_hops = max_overflow_hops
        self.queues: dict[str, QueueState] = {}
        self.agents: dict[str, Agent] = {}
        self.items: dict[str, Item] = {}
        self._timers: list[Timer] = []
        self._timer_seq = 0
        self._arrival_seq = 0
        self._now = 0.0
        self._out = Outputs()

    def _timer(self, due: float, kind: int, ref: str, token: int, extra: int = 0) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, (due, self._timer_seq, kind, ref, token, extra))

    def _command(self, command: Command) -> None:
        self._out.commands.append(command)

    def _log(self, line: str) -> None:
        self._out.queue_log.append(line)

    def _event(
        self,
        kind: EventKind,
        *,
        queue: str | None = None,
        item_id: str | None = None,
        agent_id: str | None = None,
        detail: str = "",
        value: float | None = None,
    ) -> None:
        self._out.events.append(Event(self._now, kind, queue, item_id, agent_id, detail, value))

    def _queue(self, name: str) -> QueueState:
        q = self.queues.get(name)
        if q is None:
            raise RouterError(f"unknown queue {name!r}")
        return q

    def _agent(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise RouterError(f"unknown agent {agent_id!r}")
        return agent

    def _item(self, item_id: str) -> Item:
        item = self.items.get(item_id)
        if item is None:
            raise RouterError(f"unknown item {item_id!r}")
        return item
