"""Knowledge Base full-text search: FTS5 on SQLite, a weighted tsvector with GIN on PostgreSQL

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 08:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite: an external-content FTS5 index over kb_articles (no second copy of the text), kept in step by
# triggers so every writer (ORM, bulk inserts, a migration) keeps it right. tenant_id is indexed too, so a
# search can narrow to one tenant inside the index; queries restrict the user's words to title/body/tags.
# A later batch_alter_table on kb_articles recreates the table and drops these triggers: create them again.
SQLITE_UP = [
    "CREATE VIRTUAL TABLE kb_articles_fts USING fts5(title, body, tags, tenant_id, content='kb_articles', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER kb_articles_fts_insert AFTER INSERT ON kb_articles BEGIN "
    "INSERT INTO kb_articles_fts(rowid, title, body, tags, tenant_id) "
    "VALUES (new.id, new.title, new.body, new.tags, new.tenant_id); END",
    "CREATE TRIGGER kb_articles_fts_delete AFTER DELETE ON kb_articles BEGIN "
    "INSERT INTO kb_articles_fts(kb_articles_fts, rowid, title, body, tags, tenant_id) "
    "VALUES ('delete', old.id, old.title, old.body, old.tags, old.tenant_id); END",
    "CREATE TRIGGER kb_articles_fts_update AFTER UPDATE OF title, body, tags, tenant_id ON kb_articles BEGIN "
    "INSERT INTO kb_articles_fts(kb_articles_fts, rowid, title, body, tags, tenant_id) "
    "VALUES ('delete', old.id, old.title, old.body, old.tags, old.tenant_id); "
    "INSERT INTO kb_articles_fts(rowid, title, body, tags, tenant_id) "
    "VALUES (new.id, new.title, new.body, new.tags, new.tenant_id); END",
    "INSERT INTO kb_articles_fts(kb_articles_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER kb_articles_fts_update",
    "DROP TRIGGER kb_articles_fts_delete",
    "DROP TRIGGER kb_articles_fts_insert",
    "DROP TABLE kb_articles_fts",
]

# PostgreSQL: a stored generated tsvector (title weight A, tags B, body C) and its GIN index. The 'simple'
# configuration (no stemming, no stopwords) matches SQLite's unicode61 and suits articles in any language.
PG_UP = [
    "ALTER TABLE kb_articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(tags::text, '')), 'B') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(body, '')), 'C')) STORED",
    "CREATE INDEX ix_kb_articles_search_vector ON kb_articles USING gin (search_vector)",
]
PG_DOWN = [
    "DROP INDEX ix_kb_articles_search_vector",
    "ALTER TABLE kb_articles DROP COLUMN search_vector",
]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _run(SQLITE_UP if dialect == "sqlite" else PG_UP)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _run(SQLITE_DOWN if dialect == "sqlite" else PG_DOWN)
