"""The layers the ACD Router (tvoxcc.queues.router) is built from, lowest first.

Each layer is a class that extends the one below, so a layer only calls what is beneath it:

- base: runtime state, the Outputs being collected (commands, events, queue_log lines), timer pushes, lookups;
- availability: which agents can take what, and their place in the per-(queue, channel, tier) indexes;
- waiting: the ordered waiting lines of items per (queue, channel, relaxation stage);
- decisions: the two routing decisions, item -> agents and agent -> item (overridden by reference.py);
- offers: ringing, answering elsewhere, ring-no-answer (RONA) and the routing loops;
- callbacks: a waiting call swapped for a callback that keeps its place, and its public actions;
- overflow: entering a queue, overflow rules, max wait;
- timers: firing due timers (relaxation, overflow, max wait, ring timeout, wrap-up end, callback retry);
- configuration, agents, items, callbacks: the public actions, mixed together into Router.
"""
