"""/metrics rendering: the exact Prometheus text of given samples, every family, a registry per app."""

from __future__ import annotations

from tvoxcc.web.metrics import FAMILIES, Exporter


def test_exact_text_with_escaped_labels_and_empty_families() -> None:
    text = (
        Exporter()
        .render(
            [
                ("tvoxcc_queue_waiting", {"tenant": "acme", "queue": 'sales "it"\n'}, 2),
                ("tvoxcc_agents", {"tenant": "acme", "state": "paused"}, 1),
                ("tvoxcc_queue_longest_wait_seconds", {"tenant": "acme", "queue": "support"}, 12.5),
            ]
        )
        .decode()
    )
    lines = text.splitlines()
    assert 'tvoxcc_queue_waiting{queue="sales \\"it\\"\\n",tenant="acme"} 2.0' in lines
    assert 'tvoxcc_agents{state="paused",tenant="acme"} 1.0' in lines
    assert 'tvoxcc_queue_longest_wait_seconds{queue="support",tenant="acme"} 12.5' in lines
    for name, (help_text, _) in FAMILIES.items():  # an empty family still says what it is
        assert f"# HELP {name} {help_text}" in lines and f"# TYPE {name} gauge" in lines
    assert len([line for line in lines if not line.startswith("#")]) == 3


def test_each_app_has_its_own_registry_and_a_scrape_leaves_nothing_behind() -> None:
    first, second = Exporter(), Exporter()
    assert b"tenant=" in first.render([("tvoxcc_agents", {"tenant": "a", "state": "available"}, 3)])
    assert b"tenant=" not in second.render([])
    assert b"tenant=" not in first.render([])  # the samples of the last scrape are not served again
