"""insight slots

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:59:57.263637
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tvoxcc.store.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "insight_refreshes",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("sl_threshold_s", sa.Double(), nullable=False),
        sa.Column("short_abandon_s", sa.Double(), nullable=False),
        sa.Column("built_from", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("built_to", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_insight_refreshes_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "sl_threshold_s", "short_abandon_s", name=op.f("pk_insight_refreshes")),
    )
    op.create_table(
        "insight_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("sl_threshold_s", sa.Double(), nullable=False),
        sa.Column("short_abandon_s", sa.Double(), nullable=False),
        sa.Column("slot_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("offered", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("abandoned", sa.Integer(), nullable=False),
        sa.Column("short_abandoned", sa.Integer(), nullable=False),
        sa.Column("answered_in_sl", sa.Integer(), nullable=False),
        sa.Column("abandoned_in_sl", sa.Integer(), nullable=False),
        sa.Column("wait_answered_s", sa.Double(), nullable=False),
        sa.Column("longest_wait_s", sa.Double(), nullable=False),
        sa.Column("handled", sa.Integer(), nullable=False),
        sa.Column("talk_s", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_insight_slots_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_slots")),
    )
    with op.batch_alter_table("insight_slots", schema=None) as batch_op:
        batch_op.create_index("ix_insight_slots_tenant_slot", ["tenant_id", "sl_threshold_s", "slot_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("insight_slots", schema=None) as batch_op:
        batch_op.drop_index("ix_insight_slots_tenant_slot")

    op.drop_table("insight_slots")
    op.drop_table("insight_refreshes")
