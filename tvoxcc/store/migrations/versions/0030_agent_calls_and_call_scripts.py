"""Agent calls (dial-out, click-to-call), call scripts and the answers given to them

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-07 03:24:54.869736
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tvoxcc.store.types

revision: str = "0030"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_scripts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_call_scripts_campaign_id_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.id"], name=op.f("fk_call_scripts_queue_id_queues"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_call_scripts_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_scripts")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_call_scripts_tenant_id_name")),
    )
    with op.batch_alter_table("call_scripts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_scripts_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "agent_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("refused", sa.String(length=32), nullable=True),
        sa.Column("requested_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_calls_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_agent_calls_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_agent_calls_interaction_id_interactions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_agent_calls_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_calls")),
    )
    with op.batch_alter_table("agent_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_calls_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index("ix_agent_calls_phase", ["phase", "origin"], unique=False)
        batch_op.create_index(batch_op.f("ix_agent_calls_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "script_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("script_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("answered_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_script_answers_agent_id_agents"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_script_answers_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["script_id"],
            ["call_scripts.id"],
            name=op.f("fk_script_answers_script_id_call_scripts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_script_answers_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_answers")),
        sa.UniqueConstraint("interaction_id", "script_id", name=op.f("uq_script_answers_interaction_id_script_id")),
    )
    with op.batch_alter_table("script_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_script_answers_interaction_id"), ["interaction_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_script_answers_script_id"), ["script_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_script_answers_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("script_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_script_answers_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_script_answers_script_id"))
        batch_op.drop_index(batch_op.f("ix_script_answers_interaction_id"))

    op.drop_table("script_answers")
    with op.batch_alter_table("agent_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_calls_tenant_id"))
        batch_op.drop_index("ix_agent_calls_phase")
        batch_op.drop_index(batch_op.f("ix_agent_calls_agent_id"))

    op.drop_table("agent_calls")
    with op.batch_alter_table("call_scripts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_scripts_tenant_id"))

    op.drop_table("call_scripts")
