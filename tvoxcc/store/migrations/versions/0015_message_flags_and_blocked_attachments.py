"""message flags (what happened to a mail on its way in) and blocked attachments

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flags", sa.JSON(), server_default="[]", nullable=False))
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blocked", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("blocked")
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.drop_column("flags")
