"""The ACD router: a pure state machine over queues, agents and work items.

Each public method takes ``now`` (seconds), first fires the timers that are due, applies the call, and
returns the Outputs it produced: commands for the adapters, events for statistics, queue_log lines.
Nothing here reads a clock, does I/O or draws randomness other than from the injected ``random.Random``.

The two routing decisions never scan agents or items:
- an item looking for an agent reads the head of the per-(queue, capacity channel, tier) agent indexes
  for tiers 0..stage (tvoxcc.queues.strategies);
- an agent looking for an item reads the head of the per-(queue, item channel, stage) waiting lines for
  stages >= its tier, for each of its queues and channels it has room on.
Indexes are kept current incrementally: an agent is re-filed only on its own state changes.

The router is built in layers, one module each, under tvoxcc.queues.engine (see its docstring); this
class only mixes the public actions together. Nothing outside tvoxcc.queues reads the runtime state: it
reads frozen views (``view()``, ``agent_view``, ``item_view``, ``queue_view``) and a router can be rebuilt
from such views (``restore``, tvoxcc.queues.engine.restore).
"""

from __future__ import annotations

from tvoxcc.queues.engine.agents import AgentActions
from tvoxcc.queues.engine.callbacks import CallbackActions
from tvoxcc.queues.engine.configuration import Configuration
from tvoxcc.queues.engine.items import ItemActions
from tvoxcc.queues.engine.queries import Queries
from tvoxcc.queues.engine.restore import Restore


class Router(Configuration, AgentActions, ItemActions, CallbackActions, Queries, Restore):
    """Configuration, agent, item and callback actions over one shared routing engine; frozen views of its
    state (tvoxcc.queues.views) and a restore from them."""
