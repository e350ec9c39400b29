"""SMS conversations as chats: a chat's channel, the customer's number and reply destination; reply delivery

Revision ID: 0027
Revises: 0022
Create Date: 2026-12-07 00:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=16), server_default="chat", nullable=False))
        batch_op.add_column(sa.Column("address", sa.String(length=64), server_default="", nullable=False))
        batch_op.add_column(sa.Column("reply_to", sa.String(length=255), server_default="", nullable=False))
        batch_op.create_index("ix_chats_thread", ["tenant_id", "channel", "address", "service_id"], unique=False)
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery", sa.String(length=16), nullable=True))
        batch_op.create_index("ix_chat_messages_delivery", ["delivery"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_messages_delivery")
        batch_op.drop_column("delivery")
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_index("ix_chats_thread")
        batch_op.drop_column("reply_to")
        batch_op.drop_column("address")
        batch_op.drop_column("channel")
