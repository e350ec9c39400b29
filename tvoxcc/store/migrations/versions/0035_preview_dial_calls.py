"""A preview record's attempt points at the agent's click-to-call that dials it (its outcome comes back to the
record through the campaign's retry rules)

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_call_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_campaign_attempts_agent_call_id"), ["agent_call_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_campaign_attempts_agent_call_id_agent_calls"),
            "agent_calls",
            ["agent_call_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_attempts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_campaign_attempts_agent_call_id_agent_calls"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_campaign_attempts_agent_call_id"))
        batch_op.drop_column("agent_call_id")
