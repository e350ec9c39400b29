"""`tvoxcc activity`: pause reasons (dialled as *73 + code) and dispositions."""

from tvoxcc.admin.spec import ActivityCodeSpec
from tvoxcc.cli._entity import Noun, entity_group

activity = entity_group(
    Noun(
        "activity",
        "activity_codes",
        ActivityCodeSpec,
        ["code", "kind", "productive"],
        kind="activity-code",
        help="Manage a tenant's activity codes (pause reasons and dispositions).",
    )
)
