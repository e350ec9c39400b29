"""ticket SLA (service targets, breach flags, ticket events), support agent states, per-sender mail index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 08:06:31.523476
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tvoxcc.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "support_agent_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("updated_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_support_agent_states_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_support_agent_states_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_agent_states")),
        sa.UniqueConstraint("agent_id", name=op.f("uq_support_agent_states_agent_id")),
    )
    with op.batch_alter_table("support_agent_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_agent_states_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_ticket_events_agent_id_agents"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ticket_events_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_events_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_events_tenant_at", ["tenant_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_events_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_events_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.create_index("ix_interactions_sender", ["tenant_id", "from_address", "offered_at"], unique=False)

    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla_first_response_min", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sla_resolution_min", sa.Integer(), nullable=True))

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("first_response_breached", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("resolution_breached", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("resolution_breached")
        batch_op.drop_column("first_response_breached")

    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("sla_resolution_min")
        batch_op.drop_column("sla_first_response_min")

    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_interactions_sender")

    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_events_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_events_tenant_id"))
        batch_op.drop_index("ix_ticket_events_tenant_at")

    op.drop_table("ticket_events")
    with op.batch_alter_table("support_agent_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_agent_states_tenant_id"))

    op.drop_table("support_agent_states")
