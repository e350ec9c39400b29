"""acd state: items, agents, queues, inputs, commands, lease

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 21:05:08.373350
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tvoxcc.store.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "acd_commands",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.String(length=128), nullable=True),
        sa.Column("agent_id", sa.String(length=128), nullable=True),
        sa.Column("queue", sa.String(length=128), nullable=True),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_acd_commands")),
    )
    op.create_table(
        "acd_inputs",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("item_id", sa.String(length=128), nullable=True),
        sa.Column("agent_id", sa.String(length=128), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("taken_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_acd_inputs")),
    )
    with op.batch_alter_table("acd_inputs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_acd_inputs_taken_at"), ["taken_at"], unique=False)

    op.create_table(
        "acd_lease",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("since", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("renewed_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("router_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_acd_lease")),
    )
    op.create_table(
        "acd_agents",
        sa.Column("agent_id", sa.String(length=128), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("logged_in", sa.Boolean(), nullable=False),
        sa.Column("login_at", sa.Float(), nullable=False),
        sa.Column("idle_since", sa.Float(), nullable=False),
        sa.Column("pause_code", sa.String(length=64), nullable=True),
        sa.Column("wrapup_until", sa.Float(), nullable=False),
        sa.Column("interface", sa.String(length=128), nullable=False),
        sa.Column("handled", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.JSON(), nullable=False),
        sa.Column("load", sa.JSON(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("updated_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_acd_agents_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_acd_agents")),
    )
    with op.batch_alter_table("acd_agents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_acd_agents_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "acd_items",
        sa.Column("item_id", sa.String(length=128), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("contact_priority", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("arrived_at", sa.Float(), nullable=False),
        sa.Column("queued_at", sa.Float(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("caller_id", sa.String(length=64), nullable=False),
        sa.Column("callback_number", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.Column("auto_accept", sa.Boolean(), nullable=False),
        sa.Column("offered_to", sa.JSON(), nullable=False),
        sa.Column("agent", sa.String(length=128), nullable=True),
        sa.Column("connected_at", sa.Float(), nullable=False),
        sa.Column("tried", sa.JSON(), nullable=False),
        sa.Column("callback_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", sa.Float(), nullable=False),
        sa.Column("orig_position", sa.Integer(), nullable=False),
        sa.Column("updated_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_acd_items_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_acd_items")),
    )
    with op.batch_alter_table("acd_items", schema=None) as batch_op:
        batch_op.create_index("ix_acd_items_queue_status", ["queue", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_acd_items_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "acd_queues",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("rr_last", sa.Integer(), nullable=False),
        sa.Column("next_position", sa.Integer(), nullable=False),
        sa.Column("updated_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_acd_queues_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_acd_queues")),
    )
    with op.batch_alter_table("acd_queues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_acd_queues_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("acd_queues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acd_queues_tenant_id"))

    op.drop_table("acd_queues")
    with op.batch_alter_table("acd_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acd_items_tenant_id"))
        batch_op.drop_index("ix_acd_items_queue_status")

    op.drop_table("acd_items")
    with op.batch_alter_table("acd_agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acd_agents_tenant_id"))

    op.drop_table("acd_agents")
    op.drop_table("acd_lease")
    with op.batch_alter_table("acd_inputs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acd_inputs_taken_at"))

    op.drop_table("acd_inputs")
    op.drop_table("acd_commands")
