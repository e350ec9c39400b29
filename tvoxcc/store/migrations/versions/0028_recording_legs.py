"""Each leg of a call recorded apart: a queue's record_legs switch, a recording's leg (mixed, caller, agent)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 03:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("queues", schema=None) as batch_op:
        batch_op.add_column(sa.Column("record_legs", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leg", sa.String(length=16), server_default="mixed", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_column("leg")
    with op.batch_alter_table("queues", schema=None) as batch_op:
        batch_op.drop_column("record_legs")
