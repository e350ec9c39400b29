"""`tvoxcc service`: a tenant's lines of business, their channels and inbound numbers (DIDs)."""

from tvoxcc.admin.spec import ServiceSpec
from tvoxcc.cli._entity import Noun, entity_group

service = entity_group(
    Noun(
        "service",
        "services",
        ServiceSpec,
        ["channels", "priority", "sl_threshold_seconds", "dids", "first_response_minutes", "resolution_minutes"],
        kind="service",
        help="Manage a tenant's services (lines of business) and their DIDs.",
    )
)
