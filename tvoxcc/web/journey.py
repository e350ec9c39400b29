"""A contact's journey and screen pop for the web API; who may ask is checked by the route (tvoxcc.web.app).

Every role of the tenant may read them: the screen pop exists for the agent who takes the call or ticket.
The query is the CLI's: ``channel`` (repeatable), ``from`` and ``to`` as local days (YYYY-MM-DD).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from tvoxcc.journey import api
from tvoxcc.journey.screen_pop import screen_pop
from tvoxcc.store.engine import Store
from tvoxcc.web.views import TenantConfig


async def journey_json(
    store: Store, config: TenantConfig, contact: str, channels: Sequence[str], first: str | None, last: str | None
) -> dict[str, Any]:
    """The timeline as JSON; JourneyError (400) on a bad filter, ContactNotFound (404) when nobody matches."""
    start, end = api.parse_period(first, last, ("from", "to"))
    since, until = api.day_bounds(start, end, ZoneInfo(config.timezone or "UTC"))
    async with store.tenant(config.tenant_id) as session:
        timeline = await api.journey_for(session, contact, channels=channels, since=since, until=until)
    return timeline.to_json()


async def screen_pop_json(store: Store, config: TenantConfig, contact: str) -> dict[str, Any]:
    async with store.tenant(config.tenant_id) as session:
        return screen_pop(await api.journey_for(session, contact)).to_json()
