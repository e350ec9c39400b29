"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 03:35:42.260544
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tvoxcc.store.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("name", name=op.f("uq_tenants_name")),
    )
    op.create_table(
        "activity_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("productive", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_activity_codes_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_codes")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_activity_codes_tenant_id_code")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_activity_codes_tenant_id_name")),
    )
    with op.batch_alter_table("activity_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activity_codes_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "agent_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_agent_groups_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_groups")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_agent_groups_tenant_id_name")),
    )
    with op.batch_alter_table("agent_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_groups_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("extension", sa.String(length=16), nullable=False),
        sa.Column("sip_password", sa.String(length=128), nullable=False),
        sa.Column("capacity", sa.JSON(), nullable=False),
        sa.Column("voice_blocks_others", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_agents_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("tenant_id", "extension", name=op.f("uq_agents_tenant_id_extension")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_agents_tenant_id_name")),
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agents_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("vip", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merged_into_id"], ["contacts.id"], name=op.f("fk_contacts_merged_into_id_contacts")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_contacts_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_kb_articles_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
        sa.UniqueConstraint("tenant_id", "slug", name=op.f("uq_kb_articles_tenant_id_slug")),
    )
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_articles_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("sl_threshold_s", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_services_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_services_tenant_id_name")),
    )
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_services_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_skills_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_skills_tenant_id_name")),
    )
    with op.batch_alter_table("skills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_skills_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "agent_skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_skills_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["skills.id"], name=op.f("fk_agent_skills_skill_id_skills"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_agent_skills_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_skills")),
        sa.UniqueConstraint("agent_id", "skill_id", name=op.f("uq_agent_skills_agent_id_skill_id")),
    )
    with op.batch_alter_table("agent_skills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_skills_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agent_skills_skill_id"), ["skill_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agent_skills_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "contact_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_emails_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_contact_emails_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_emails")),
        sa.UniqueConstraint("tenant_id", "email", name=op.f("uq_contact_emails_tenant_id_email")),
    )
    with op.batch_alter_table("contact_emails", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_emails_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_emails_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "contact_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_phones_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_contact_phones_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_phones")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_contact_phones_tenant_id_number")),
    )
    with op.batch_alter_table("contact_phones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_phones_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_phones_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "dids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_dids_service_id_services"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_dids_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dids")),
        sa.UniqueConstraint("number", name=op.f("uq_dids_number")),
    )
    with op.batch_alter_table("dids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dids_service_id"), ["service_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dids_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "group_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_group_members_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["agent_groups.id"],
            name=op.f("fk_group_members_group_id_agent_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_group_members_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_members")),
        sa.UniqueConstraint("group_id", "agent_id", name=op.f("uq_group_members_group_id_agent_id")),
    )
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_members_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_group_members_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_group_members_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "kb_article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_article_versions_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_kb_article_versions_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_versions")),
        sa.UniqueConstraint("article_id", "version", name=op.f("uq_kb_article_versions_article_id_version")),
    )
    with op.batch_alter_table("kb_article_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_article_versions_article_id"), ["article_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_article_versions_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("wrapup_s", sa.Integer(), nullable=False),
        sa.Column("ring_timeout_s", sa.Integer(), nullable=False),
        sa.Column("max_wait_s", sa.Integer(), nullable=True),
        sa.Column("sl_threshold_s", sa.Integer(), nullable=True),
        sa.Column("record", sa.Boolean(), nullable=False),
        sa.Column("moh_class", sa.String(length=64), nullable=False),
        sa.Column("announce_every_s", sa.Integer(), nullable=False),
        sa.Column("rona_pause", sa.Boolean(), nullable=False),
        sa.Column("skill_relax", sa.JSON(), nullable=False),
        sa.Column("overflow", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_queues_service_id_services"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_queues_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queues")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_queues_tenant_id_name")),
    )
    with op.batch_alter_table("queues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queues_service_id"), ["service_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_queues_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_users_agent_id_agents"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_users_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "queue_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("penalty", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_queue_members_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.id"], name=op.f("fk_queue_members_queue_id_queues"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_queue_members_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_members")),
        sa.UniqueConstraint("queue_id", "agent_id", name=op.f("uq_queue_members_queue_id_agent_id")),
    )
    with op.batch_alter_table("queue_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_members_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_members_queue_id"), ["queue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_members_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "queue_skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("min_level", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.id"], name=op.f("fk_queue_skills_queue_id_queues"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["skills.id"], name=op.f("fk_queue_skills_skill_id_skills"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_queue_skills_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_skills")),
        sa.UniqueConstraint("queue_id", "skill_id", name=op.f("uq_queue_skills_queue_id_skill_id")),
    )
    with op.batch_alter_table("queue_skills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_skills_queue_id"), ["queue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_skills_skill_id"), ["skill_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_skills_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("assignee_agent_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("updated_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_response_due", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution_due", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_responded_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("solved_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assignee_agent_id"], ["agents.id"], name=op.f("fk_tickets_assignee_agent_id_agents")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_tickets_contact_id_contacts")),
        sa.ForeignKeyConstraint(["queue_id"], ["queues.id"], name=op.f("fk_tickets_queue_id_queues")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_tickets_service_id_services")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tickets_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_tickets_tenant_id_number")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("from_address", sa.String(length=254), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("offered_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("activity_code_id", sa.Integer(), nullable=True),
        sa.Column("recording", sa.String(length=255), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_code_id"],
            ["activity_codes.id"],
            name=op.f("fk_interactions_activity_code_id_activity_codes"),
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_interactions_agent_id_agents")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_interactions_contact_id_contacts")),
        sa.ForeignKeyConstraint(["queue_id"], ["queues.id"], name=op.f("fk_interactions_queue_id_queues")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_interactions_service_id_services")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_interactions_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_interactions_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.create_index("ix_interactions_contact", ["tenant_id", "contact_id", "offered_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_interactions_external_id"), ["external_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_interactions_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_interactions_tenant_offered", ["tenant_id", "offered_at"], unique=False)

    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("placed_as_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("completed_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_callbacks_contact_id_contacts")),
        sa.ForeignKeyConstraint(
            ["placed_as_id"], ["interactions.id"], name=op.f("fk_callbacks_placed_as_id_interactions")
        ),
        sa.ForeignKeyConstraint(["queue_id"], ["queues.id"], name=op.f("fk_callbacks_queue_id_queues")),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["interactions.id"], name=op.f("fk_callbacks_requested_by_id_interactions")
        ),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_callbacks_service_id_services")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_callbacks_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
    )
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callbacks_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "interaction_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_interaction_events_agent_id_agents")),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_interaction_events_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["queue_id"], ["queues.id"], name=op.f("fk_interaction_events_queue_id_queues")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_interaction_events_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_events")),
    )
    with op.batch_alter_table("interaction_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interaction_events_interaction_id"), ["interaction_id"], unique=False)
        batch_op.create_index("ix_interaction_events_tenant_at", ["tenant_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_interaction_events_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "nps_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("second_score", sa.Integer(), nullable=True),
        sa.Column("answered_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("score BETWEEN 0 AND 10", name=op.f("ck_nps_answers_score_range")),
        sa.CheckConstraint(
            "second_score IS NULL OR second_score BETWEEN 0 AND 10",
            name=op.f("ck_nps_answers_second_score_range"),
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_nps_answers_agent_id_agents")),
        sa.ForeignKeyConstraint(
            ["interaction_id"], ["interactions.id"], name=op.f("fk_nps_answers_interaction_id_interactions")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_nps_answers_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nps_answers")),
    )
    with op.batch_alter_table("nps_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nps_answers_interaction_id"), ["interaction_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_nps_answers_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=True),
        sa.Column("in_reply_to", sa.String(length=500), nullable=True),
        sa.Column("references", sa.JSON(), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", tvoxcc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_ticket_messages_interaction_id_interactions"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ticket_messages_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_messages_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
        sa.UniqueConstraint("tenant_id", "message_id", name=op.f("uq_ticket_messages_tenant_id_message_id")),
    )
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_messages_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_messages_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.String(length=255), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["ticket_messages.id"],
            name=op.f("fk_attachments_message_id_ticket_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_attachments_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attachments_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_attachments_message_id"))

    op.drop_table("attachments")
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_messages_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_messages_tenant_id"))

    op.drop_table("ticket_messages")
    with op.batch_alter_table("nps_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nps_answers_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_nps_answers_interaction_id"))

    op.drop_table("nps_answers")
    with op.batch_alter_table("interaction_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interaction_events_tenant_id"))
        batch_op.drop_index("ix_interaction_events_tenant_at")
        batch_op.drop_index(batch_op.f("ix_interaction_events_interaction_id"))

    op.drop_table("interaction_events")
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callbacks_tenant_id"))

    op.drop_table("callbacks")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_interactions_tenant_offered")
        batch_op.drop_index(batch_op.f("ix_interactions_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_interactions_external_id"))
        batch_op.drop_index("ix_interactions_contact")

    op.drop_table("interactions")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_tenant_id"))

    op.drop_table("tickets")
    with op.batch_alter_table("queue_skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_skills_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_queue_skills_skill_id"))
        batch_op.drop_index(batch_op.f("ix_queue_skills_queue_id"))

    op.drop_table("queue_skills")
    with op.batch_alter_table("queue_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_members_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_queue_members_queue_id"))
        batch_op.drop_index(batch_op.f("ix_queue_members_agent_id"))

    op.drop_table("queue_members")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_tenant_id"))

    op.drop_table("users")
    with op.batch_alter_table("queues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queues_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_queues_service_id"))

    op.drop_table("queues")
    with op.batch_alter_table("kb_article_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_article_versions_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_kb_article_versions_article_id"))

    op.drop_table("kb_article_versions")
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_members_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_group_members_group_id"))
        batch_op.drop_index(batch_op.f("ix_group_members_agent_id"))

    op.drop_table("group_members")
    with op.batch_alter_table("dids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dids_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_dids_service_id"))

    op.drop_table("dids")
    with op.batch_alter_table("contact_phones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_phones_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_contact_phones_contact_id"))

    op.drop_table("contact_phones")
    with op.batch_alter_table("contact_emails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_emails_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_contact_emails_contact_id"))

    op.drop_table("contact_emails")
    with op.batch_alter_table("agent_skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_skills_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_agent_skills_skill_id"))
        batch_op.drop_index(batch_op.f("ix_agent_skills_agent_id"))

    op.drop_table("agent_skills")
    with op.batch_alter_table("skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skills_tenant_id"))

    op.drop_table("skills")
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_services_tenant_id"))

    op.drop_table("services")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_articles_tenant_id"))

    op.drop_table("kb_articles")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_tenant_id"))

    op.drop_table("contacts")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agents_tenant_id"))

    op.drop_table("agents")
    with op.batch_alter_table("agent_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_groups_tenant_id"))

    op.drop_table("agent_groups")
    with op.batch_alter_table("activity_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_codes_tenant_id"))

    op.drop_table("activity_codes")
    op.drop_table("tenants")
