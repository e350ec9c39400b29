"""the hierarchy: groups link to queues; supervisors scoped to groups

Revision ID: 0029
Revises: 0030
Create Date: 2026-12-07 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _link(table: str, left: tuple[str, str], right: tuple[str, str]) -> None:
    """A tenant-scoped link table between ``left`` and ``right`` ((column, referenced table)), both cascading."""
    (lcol, ltable), (rcol, rtable) = left, right
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(lcol, sa.Integer(), nullable=False),
        sa.Column(rcol, sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint([lcol], [f"{ltable}.id"], name=op.f(f"fk_{table}_{lcol}_{ltable}"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint([rcol], [f"{rtable}.id"], name=op.f(f"fk_{table}_{rcol}_{rtable}"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(lcol, rcol, name=op.f(f"uq_{table}_{lcol}_{rcol}")),
    )
    for column in (lcol, rcol, "tenant_id"):
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column])


def upgrade() -> None:
    _link("group_queues", ("group_id", "agent_groups"), ("queue_id", "queues"))
    _link("user_groups", ("user_id", "users"), ("group_id", "agent_groups"))


def downgrade() -> None:
    op.drop_table("user_groups")
    op.drop_table("group_queues")
