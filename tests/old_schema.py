"""Rows written as an older schema holds them, for tests that migrate from an earlier revision."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def old_tenant(session: AsyncSession, name: str) -> int:
    """A tenant row with only the columns every revision has: a model insert would name the columns later
    migrations added (retention_days…), which the older schema does not have yet."""
    created = await session.execute(
        text(
            "INSERT INTO tenants (name, display_name, timezone, country, language, created_at) "
            "VALUES (:name, '', 'UTC', 'IT', 'en', CURRENT_TIMESTAMP) RETURNING id"
        ),
        {"name": name},
    )
    return int(created.scalar_one())
