"""service instances: each long-running service's heartbeat, for `tvoxcc cluster status`

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tvoxcc.store.types

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_instances",
        sa.Column("instance", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("lease", sa.String(length=32), nullable=False),
        sa.Column("started_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("beat_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("interval_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("instance", name=op.f("pk_service_instances")),
    )


def downgrade() -> None:
    op.drop_table("service_instances")
