"""/metrics: the live state and today's counts as Prometheus gauges, rendered by prometheus-client.

A prometheus-client Collector is synchronous and our figures come from the store (async), so a scrape
first gathers the samples (``gather``), then renders them with ``Exporter.render`` through the app's own
CollectorRegistry (never the process-wide default one: two apps in one process, as in the tests, would
share and clash on it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tvoxcc.store.engine import Store
from tvoxcc.web import data
from tvoxcc.web.access import Principal
from tvoxcc.web.live import LiveHub
from tvoxcc.web.views import agents_by_state, queue_views

CONTENT_TYPE = CONTENT_TYPE_LATEST  # the text format generate_latest writes

Sample = tuple[str, dict[str, str], float]  # metric name, labels, value

QUEUE = ("queue", "tenant")
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {  # name: (help, label names)
    "tvoxcc_queue_waiting": ("Callers waiting in the queue now (ringing ones included).", QUEUE),
    "tvoxcc_queue_longest_wait_seconds": ("Wait of the longest waiting caller now.", QUEUE),
    "tvoxcc_agents": ("Agents per state now.", ("state", "tenant")),
    "tvoxcc_queue_offered_today": ("Contacts offered to the queue today (tenant's day).", QUEUE),
    "tvoxcc_queue_answered_today": ("Contacts answered today.", QUEUE),
    "tvoxcc_queue_abandoned_today": ("Contacts abandoned today (short abandons left out).", QUEUE),
}

# Metrics see every queue and agent of every tenant, like an admin.
READER = Principal(0, "metrics", "admin", None, None)


async def gather(store: Store, hub: LiveHub, figures: data.FiguresCache, now: Callable[[], datetime]) -> list[Sample]:
    samples: list[Sample] = []
    for name in await data.tenant_names(store):
        config = await data.tenant_config(store, name)
        if config is None:
            continue
        state = hub.state(config.tenant_id)
        for view in queue_views(config, state, hub.voice_now(config.tenant_id), READER):
            labels = {"tenant": name, "queue": view["name"]}
            samples.append(("tvoxcc_queue_waiting", labels, view["waiting"]))
            samples.append(("tvoxcc_queue_longest_wait_seconds", labels, view["longest_wait_s"] or 0.0))
        for agent_state, count in agents_by_state(config, state).items():
            samples.append(("tvoxcc_agents", {"tenant": name, "state": agent_state}, count))
        today = await figures.get(config, now(), None)
        for queue_name, row in today["queues"].items():
            labels = {"tenant": name, "queue": queue_name}
            for key in ("offered", "answered", "abandoned"):
                samples.append((f"tvoxcc_queue_{key}_today", labels, row[key]))
    return samples


class _SamplesCollector(Collector):
    """Every family of FAMILIES (HELP and TYPE even when empty) with the samples handed to it."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []

    def collect(self) -> Iterator[Metric]:
        families = {
            name: GaugeMetricFamily(name, text, labels=list(labels)) for name, (text, labels) in FAMILIES.items()
        }
        for name, labels, value in self.samples:
            families[name].add_metric([labels[key] for key in FAMILIES[name][1]], value)
        yield from families.values()


class Exporter:
    """One per app: a private registry holding one collector."""

    def __init__(self) -> None:
        self._collector = _SamplesCollector()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self._collector)

    def render(self, samples: Iterable[Sample]) -> bytes:
        # No await between handing the samples over and rendering: concurrent scrapes cannot mix.
        self._collector.samples = list(samples)
        try:
            return generate_latest(self.registry)
        finally:
            self._collector.samples = []
