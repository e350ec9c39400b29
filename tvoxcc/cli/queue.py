"""`tvoxcc queue`: queues of a service, their strategy, timers, required skills and overflow."""

from tvoxcc.admin.spec import QueueSpec
from tvoxcc.cli._entity import Noun, entity_group

queue = entity_group(
    Noun(
        "queue",
        "queues",
        QueueSpec,
        ["service", "strategy", "priority", "wrapup_seconds", "skills"],
        kind="queue",
    )
)
