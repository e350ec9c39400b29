"""Per-sender rate limit on incoming mail: a flood from one address (a loop, a script) makes no tickets.

The rule is pure; the count comes from the store (inbound mail interactions of the sender, which
only accepted mails create, so a rejected mail never extends its own ban).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.interactions import Direction
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m

REASON = "rate-limited"


@dataclass(frozen=True, slots=True)
class SenderLimit:
    """At most ``max_mails`` accepted mails per sender in any ``window_minutes``; later ones are rejected."""

    max_mails: int
    window_minutes: int

    def window_start(self, now: datetime) -> datetime:
        return now - timedelta(minutes=self.window_minutes)

    def exceeded(self, accepted_in_window: int) -> bool:
        return accepted_in_window >= self.max_mails


async def rate_limit_reason(session: AsyncSession, limit: SenderLimit, sender: str, now: datetime) -> str | None:
    """``REASON`` if this mail would go over the sender's limit, else None."""
    count = (
        await session.execute(
            select(func.count())
            .select_from(m.Interaction)
            .where(
                m.Interaction.from_address == sender,
                m.Interaction.offered_at > limit.window_start(now),
                m.Interaction.channel == Channel.MAIL,
                m.Interaction.direction == Direction.INBOUND,
            )
        )
    ).scalar_one()
    return REASON if limit.exceeded(count) else None
