"""The ACD service: one router for every channel, its state in the store, adapters in process or through the store.

    adapters (voice, support, web…) ── submit items / accept, decline, complete… ──┐
                                                                                   ▼
    AcdService: Router (a cache) ── each decision's rows ──> group commit ──> store (acd_* tables)
                                                                                   │ after commit
    adapters <── commands (Offer, CancelOffer, PlaceCallback, StartWrapup…) <──────┘ (in process / acd_commands)

Use it in process (``voice run`` embeds it, tests)::

    from tvoxcc.acd import AcdService, FixedConfig, StoreConfig, InProcess, InStore, NewItem

    inbox = InProcess()
    inbox.subscribe(on_command, channels=[Channel.MAIL])      # gets Command values, only once committed
    acd = AcdService(store, StoreConfig(store), transports=[inbox, InStore()])
    await acd.start()                                          # lease (standby until free), rows -> router
    item_id = acd.submit(NewItem("acme/support", Channel.MAIL, tenant_id=1, ref="T-1042", auto_accept=True))
    acd.login("acme-anna"); acd.accept(item_id, "acme-anna"); acd.complete(item_id)   # no await: rows follow
    await acd.flush()                                          # everything so far committed and released
    await acd.stop()                                           # lease given up: a standby takes over

- Requests (plain calls, each one router decision; they raise ``tvoxcc.queues.model.RouterError`` when the
  state does not allow them, ``NotRouting`` on a standby): ``submit(NewItem) -> item id``, ``accept``,
  ``decline`` (ring-no-answer), ``complete``, ``abandon``, ``login``, ``logout``, ``pause(agent, code)``,
  ``unpause``, ``end_wrapup``, ``pull(agent, channel)`` (their next item even while paused: `support next`),
  ``request_callback``, ``callback_answered``, ``callback_failed``, ``tick``;
  ``apply_config(AcdConfig)`` / ``await reload_config()`` take configuration changes live. Each returns the
  router's Outputs at once (commands, events, queue_log lines), for the caller's own statistics; adapters
  act on commands from a transport, which releases them only after their rows are committed (one group
  commit: batches form while a commit runs; ``linger_s`` lets decisions without commands wait for the next
  one that has some, and ``answers`` lets an embedding adapter prove, on start, answers the rows may lack).
- A ticket: ``NewItem(..., channel=Channel.MAIL, auto_accept=True)``: when offered it is accepted in the
  same decision, so the Offer its adapter receives *is* the assignment (agent's mail capacity in use until
  ``complete``; voice blocks it like any item, wrap-up and relaxation apply).
- Other processes: ``await send_input(store, InputKind.SUBMIT, item_id=…, queue=…, channel=…, ref=…)``
  (tvoxcc.acd.inputs; ``queue_inputs(session, [Request…])`` in the caller's own transaction) and
  ``CommandReader(store, channels=[…]).follow()`` (tvoxcc.acd.transport); the ACD
  takes inputs in ``run`` (PostgreSQL NOTIFY wakes it, SQLite is polled) and marks each taken in the
  transaction of its decision: exactly once across a crash.
- An embedding adapter (``voice run``) sets ``acd.on_outputs``: it gets every decision's Outputs at once
  (its own requests', the timers' fired by ``tick``, other processes' requests taken by ``take_inputs``,
  the restore's), for its statistics and wallboard, while commands still come only through a transport;
  it may drive the service itself (``take_inputs``, ``tick`` when ``next_timer_at`` is due, ``lease.renew``)
  instead of ``run``. ``accept(..., bridged_id=)`` names the agent's leg in the queue_log.
- Reads: ``acd.view()`` (tvoxcc.queues.views.RouterView), one entity's ``agent_view``/``item_view``,
  ``agent_ids``, ``has_agent``, ``agent_status``, ``estimate``; from any process ``await load(store)``
  (tvoxcc.acd.stored: rows and who holds the lease), which ``tvoxcc acd status`` prints.
- Restart: ``start`` restores the router from the rows (tvoxcc.queues.engine.restore): waiting items keep
  their place, agents their login/pause/wrap-up end/items in hand; offers and callbacks in flight at the
  crash are cancelled (CancelOffer reason ``restored``) and wait again at their place. ``acd.restored`` holds
  what that restore decided. Only one ACD routes (tvoxcc.acd.lease); ``run`` waits as a standby.

Modules: kinds (StrEnums), commands (what adapters get), rows (pure: decisions -> rows, rows -> view),
writer (group commit), transport (the seam), inputs and dispatch (requests from other processes), lease,
stored (reading rows back), status (what `acd status` shows), config, service.
"""

from tvoxcc.acd.commands import Command, ItemMeta, NewItem
from tvoxcc.acd.config import AcdConfig, ConfigSource, FixedConfig, StoreConfig
from tvoxcc.acd.inputs import Input, Request, queue_inputs, send_input
from tvoxcc.acd.kinds import CommandKind, InputKind
from tvoxcc.acd.lease import Lease, LeaseLost
from tvoxcc.acd.service import AcdService, NotRouting
from tvoxcc.acd.stored import Stored, load
from tvoxcc.acd.transport import CommandReader, InProcess, InStore, Transport

__all__ = [
    "AcdConfig",
    "AcdService",
    "Command",
    "CommandKind",
    "CommandReader",
    "ConfigSource",
    "FixedConfig",
    "InProcess",
    "InStore",
    "Input",
    "InputKind",
    "ItemMeta",
    "Lease",
    "LeaseLost",
    "NewItem",
    "NotRouting",
    "Request",
    "StoreConfig",
    "Stored",
    "Transport",
    "load",
    "queue_inputs",
    "send_input",
]
