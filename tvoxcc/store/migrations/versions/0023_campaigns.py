"""campaigns, their records, do-not-call numbers, the abandon ledger, attempts

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-07 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tvoxcc.store.types

revision: str = "0023"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=24), nullable=False),
        sa.Column("caller_id", sa.String(length=32), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_campaigns_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_campaigns_tenant_id_name")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "dnc_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("added_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_dnc_numbers_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dnc_numbers")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_dnc_numbers_tenant_id_number")),
    )
    with op.batch_alter_table("dnc_numbers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dnc_numbers_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "abandon_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entry", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_abandon_ledger_campaign_id_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_abandon_ledger_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abandon_ledger")),
    )
    with op.batch_alter_table("abandon_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_abandon_ledger_campaign_at", ["campaign_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_abandon_ledger_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "campaign_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_groups_campaign_id_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["agent_groups.id"],
            name=op.f("fk_campaign_groups_group_id_agent_groups"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_campaign_groups_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_groups")),
        sa.UniqueConstraint("campaign_id", "group_id", name=op.f("uq_campaign_groups_campaign_id_group_id")),
    )
    with op.batch_alter_table("campaign_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_groups_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_groups_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_groups_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "campaign_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_outcome", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_records_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_campaign_records_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_records")),
    )
    with op.batch_alter_table("campaign_records", schema=None) as batch_op:
        batch_op.create_index("ix_campaign_records_due", ["campaign_id", "state", "next_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_records_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "campaign_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=True),
        sa.Column("started_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("disposition", sa.String(length=64), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_attempts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["campaign_records.id"],
            name=op.f("fk_campaign_attempts_record_id_campaign_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_campaign_attempts_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_attempts")),
    )
    with op.batch_alter_table("campaign_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_attempts_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_attempts_record_id"), ["record_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_attempts_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "campaign_queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_queues_campaign_id_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.id"], name=op.f("fk_campaign_queues_queue_id_queues"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_campaign_queues_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_queues")),
        sa.UniqueConstraint("campaign_id", "queue_id", name=op.f("uq_campaign_queues_campaign_id_queue_id")),
    )
    with op.batch_alter_table("campaign_queues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_queues_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_queues_queue_id"), ["queue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_queues_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("campaign_queues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_queues_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_queues_queue_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_queues_campaign_id"))

    op.drop_table("campaign_queues")
    with op.batch_alter_table("campaign_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_attempts_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_attempts_record_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_attempts_campaign_id"))

    op.drop_table("campaign_attempts")
    with op.batch_alter_table("campaign_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_records_tenant_id"))
        batch_op.drop_index("ix_campaign_records_due")

    op.drop_table("campaign_records")
    with op.batch_alter_table("campaign_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_groups_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_groups_group_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_groups_campaign_id"))

    op.drop_table("campaign_groups")
    with op.batch_alter_table("abandon_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_abandon_ledger_tenant_id"))
        batch_op.drop_index("ix_abandon_ledger_campaign_at")

    op.drop_table("abandon_ledger")
    with op.batch_alter_table("dnc_numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dnc_numbers_tenant_id"))

    op.drop_table("dnc_numbers")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_tenant_id"))

    op.drop_table("campaigns")
