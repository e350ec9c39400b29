"""contact merges and journey indexes

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-22 08:14:50.413522
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tvoxcc.store.types

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survivor_id", sa.Integer(), nullable=False),
        sa.Column("duplicate_id", sa.Integer(), nullable=False),
        sa.Column("merged_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["duplicate_id"], ["contacts.id"], name=op.f("fk_contact_merges_duplicate_id_contacts")
        ),
        sa.ForeignKeyConstraint(["survivor_id"], ["contacts.id"], name=op.f("fk_contact_merges_survivor_id_contacts")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_contact_merges_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_merges")),
    )
    with op.batch_alter_table("contact_merges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_merges_duplicate_id"), ["duplicate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_merges_survivor_id"), ["survivor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_merges_tenant_id"), ["tenant_id"], unique=False)

    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.create_index("ix_callbacks_contact", ["tenant_id", "contact_id"], unique=False)
        batch_op.create_index("ix_callbacks_requested_by", ["tenant_id", "requested_by_id"], unique=False)

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index("ix_contacts_merged", ["tenant_id", "merged_into_id"], unique=False)

    with op.batch_alter_table("interaction_events", schema=None) as batch_op:
        batch_op.create_index("ix_interaction_events_interaction", ["tenant_id", "interaction_id"], unique=False)

    with op.batch_alter_table("nps_answers", schema=None) as batch_op:
        batch_op.create_index("ix_nps_answers_interaction", ["tenant_id", "interaction_id"], unique=False)

    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_messages_ticket", ["tenant_id", "ticket_id"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_contact", ["tenant_id", "contact_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_contact")

    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_messages_ticket")

    with op.batch_alter_table("nps_answers", schema=None) as batch_op:
        batch_op.drop_index("ix_nps_answers_interaction")

    with op.batch_alter_table("interaction_events", schema=None) as batch_op:
        batch_op.drop_index("ix_interaction_events_interaction")

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_merged")

    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_callbacks_requested_by")
        batch_op.drop_index("ix_callbacks_contact")

    with op.batch_alter_table("contact_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_merges_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_contact_merges_survivor_id"))
        batch_op.drop_index(batch_op.f("ix_contact_merges_duplicate_id"))

    op.drop_table("contact_merges")
