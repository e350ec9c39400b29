"""Insight: contact-center statistics from the stored interactions and their events.

- ``model``, ``buckets``, ``metrics``: the pure core (plain values in, figures out; no I/O, no clock).
- ``report``, ``svg``: renderings (table, CSV, JSON, self-contained HTML, the one-screen summary).
- ``store``: the adapter that loads a tenant's facts; ``aggregate``: the SQL path for basic counts.
- ``api``: one call per question (``build_report``, ``day_summary``), used by the CLI and the demo.

Nothing is imported here, so the core can be used without pulling in the store.
"""
