"""service business hours and holidays (the SLA clocks run in them)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 04:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("business_hours", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("holidays", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("holidays")
        batch_op.drop_column("business_hours")
