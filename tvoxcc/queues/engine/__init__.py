"""The layers the ACD Router (tvoxcc.queues.router) is built from, lowest first.

Each internal layer is a class that extends the one below, so a layer only calls what is beneath it:

- base: runtime state, the Outputs being collected (commands, events, queue_log lines), timer pushes, lookups;
- availability: which agents can take what, and their place in the per-(queue, channel, tier) agent indexes;
- waiting: items entering and leaving the waiting lines (tvoxcc.queues.lines) of their queue;
- decisions: the two routing decisions, item -> agents and agent -> item (overridden by reference.py);
- offers: ringing, answering elsewhere, ring-no-answer (RONA) and the routing loops;
- overflow: entering a queue, overflow rules, max wait, a waiting call switched to a callback;
- timers: firing due timers (relaxation, overflow, max wait, ring timeout, wrap-up end, callback retry).

The public actions sit on top of timers, one facet per module (configuration, agents, items, callbacks,
queries: frozen views, restore: a router rebuilt from views), and tvoxcc.queues.router.Router mixes them.
"""
