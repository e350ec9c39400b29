"""The open interactions, indexed alone (partial index): a voice resync reads them at every start and reconnect

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 21:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_interactions_open",
        "interactions",
        ["channel", "direction"],
        unique=False,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_interactions_open", table_name="interactions")
