"""insight slots by dimension

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 08:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Slots are derived data: dropped here, rebuilt by the next `tvoxcc insight refresh` or `insight run` tick.
    op.execute("DELETE FROM insight_slots")
    op.execute("DELETE FROM insight_refreshes")
    with op.batch_alter_table("insight_slots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dimension", sa.String(length=8), server_default="", nullable=False))
        batch_op.drop_index("ix_insight_slots_tenant_slot")
        batch_op.create_index(
            "ix_insight_slots_tenant_dim_slot", ["tenant_id", "sl_threshold_s", "dimension", "slot_at"], unique=False
        )


def downgrade() -> None:
    op.execute("DELETE FROM insight_slots")
    op.execute("DELETE FROM insight_refreshes")
    with op.batch_alter_table("insight_slots", schema=None) as batch_op:
        batch_op.drop_index("ix_insight_slots_tenant_dim_slot")
        batch_op.create_index("ix_insight_slots_tenant_slot", ["tenant_id", "sl_threshold_s", "slot_at"], unique=False)
        batch_op.drop_column("dimension")
