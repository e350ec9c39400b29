"""Campaign calls are interactions (each answered line's attempt points at its outbound interaction); preview
records remember the agent shown one and the reason a record was skipped

Revision ID: 0033
Revises: 0029
Create Date: 2026-12-07 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("interaction_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_campaign_attempts_interaction_id_interactions"),
            "interactions",
            ["interaction_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("campaign_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("preview_agent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("skip_reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_records", schema=None) as batch_op:
        batch_op.drop_column("skip_reason")
        batch_op.drop_column("preview_agent_id")
    with op.batch_alter_table("campaign_attempts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_campaign_attempts_interaction_id_interactions"), type_="foreignkey")
        batch_op.drop_column("interaction_id")
