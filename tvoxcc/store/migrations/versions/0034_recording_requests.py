"""The desktop's recording pause / resume requests, taken once by the voice service

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 05:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tvoxcc.store.types

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recording_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("taken_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_recording_requests_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_recording_requests_interaction_id_interactions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_recording_requests_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_requests")),
    )
    with op.batch_alter_table("recording_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recording_requests_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index("ix_recording_requests_open", ["taken_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_recording_requests_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_table("recording_requests")
