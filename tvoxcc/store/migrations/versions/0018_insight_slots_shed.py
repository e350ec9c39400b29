"""insight slots count the calls the overloaded voice service shed

Revision ID: 0018
Revises: 0017
depends on 0017's content)
Create Date: 2026-12-06 21:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Slots are derived data: dropped here (they lack the shed calls), rebuilt by the next `tvoxcc insight
    # refresh` or `insight run` tick.
    op.execute("DELETE FROM insight_slots")
    op.execute("DELETE FROM insight_refreshes")
    with op.batch_alter_table("insight_slots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shed", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.execute("DELETE FROM insight_slots")
    op.execute("DELETE FROM insight_refreshes")
    with op.batch_alter_table("insight_slots", schema=None) as batch_op:
        batch_op.drop_column("shed")
