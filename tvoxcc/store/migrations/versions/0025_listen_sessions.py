"""listen sessions: supervisors' listen/whisper/barge on live calls, refusals included

Revision ID: 0025
Revises: 0020
Create Date: 2026-12-07 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tvoxcc.store.types

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = tvoxcc.store.types.UTCDateTime(timezone=True)
    op.create_table(
        "listen_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("supervisor", sa.String(length=64), nullable=False),
        sa.Column("supervisor_user_id", sa.Integer(), nullable=True),
        sa.Column("supervisor_phone", sa.String(length=128), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("agent_extension", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("modes", sa.JSON(), nullable=False),
        sa.Column("requested_at", when, nullable=False),
        sa.Column("started_at", when, nullable=True),
        sa.Column("ended_at", when, nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("refused", sa.String(length=32), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_listen_sessions_tenant_id_tenants"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_user_id"],
            ["users.id"],
            name=op.f("fk_listen_sessions_supervisor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listen_sessions")),
    )
    op.create_index(op.f("ix_listen_sessions_tenant_id"), "listen_sessions", ["tenant_id"])
    op.create_index(op.f("ix_listen_sessions_ended_at"), "listen_sessions", ["ended_at"])
    op.create_index(op.f("ix_listen_sessions_phase"), "listen_sessions", ["phase"])


def downgrade() -> None:
    op.drop_index(op.f("ix_listen_sessions_phase"), table_name="listen_sessions")
    op.drop_index(op.f("ix_listen_sessions_ended_at"), table_name="listen_sessions")
    op.drop_index(op.f("ix_listen_sessions_tenant_id"), table_name="listen_sessions")
    op.drop_table("listen_sessions")
