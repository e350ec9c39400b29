"""contact phones and e-mails by (tenant_id, contact_id)

A contact's phones and e-mails are read on every journey; with only the lone tenant_id and contact_id
indexes, SQLite's planner (without statistics) takes tenant_id and reads the tenant's whole address book.

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-02 21:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact_phones", schema=None) as batch_op:
        batch_op.create_index("ix_contact_phones_contact", ["tenant_id", "contact_id"], unique=False)
    with op.batch_alter_table("contact_emails", schema=None) as batch_op:
        batch_op.create_index("ix_contact_emails_contact", ["tenant_id", "contact_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contact_emails", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_emails_contact")
    with op.batch_alter_table("contact_phones", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_phones_contact")
