"""ticket counters: one row per tenant holding its next ticket number (every channel numbers tickets there)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 18:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_counters",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ticket_counters_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_ticket_counters")),
    )
    # Every existing tenant continues after its highest number (T-1001 first for a tenant without tickets).
    op.execute(
        "INSERT INTO ticket_counters (tenant_id, next_number) "
        "SELECT tenants.id, COALESCE(MAX(tickets.number), 1000) + 1 FROM tenants "
        "LEFT JOIN tickets ON tickets.tenant_id = tenants.id GROUP BY tenants.id"
    )


def downgrade() -> None:
    op.drop_table("ticket_counters")
