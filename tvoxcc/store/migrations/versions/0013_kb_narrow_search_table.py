"""Knowledge Base search on PostgreSQL reads a narrow side table, not the wide articles

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 04:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A search ranks every match of its words in the tenant (thousands of rows for a frequent word), so it reads
# each one's tsvector. Inside kb_articles those sit next to title, Markdown body and tags, compressed or
# TOASTed: many pages, decompression, and a table too big to stay in shared buffers. kb_articles_search keeps
# only what a search filters and ranks on; the search joins back to kb_articles for the top rows only.
#
# Triggers keep it in step (not the store code): every writer — the ORM, bulk Core inserts, imports, SQL by
# hand — goes through them, in the writer's transaction. A delete cascades through the foreign key.
# The tsvector is the one 0006 generated (title A, tags B, body C, 'simple'), so the ranking does not change;
# kb_articles drops its generated copy and that index: one tsvector per article to compute and to index.
# The GIN index has no pending list (fastupdate off): articles are written by people, rarely, and a pending
# list is scanned by every search until a vacuum merges it — right after an import, exactly when it is long.
# It is partitioned by a hash of the tenant: a tenant's rows share pages and a GIN index with few other
# tenants', so a frequent word reads a fraction of the pages (each row would sit on a page of its own when
# tenants write in turns). The key includes tenant_id, as a partition key must.
# SQLite's FTS5 index (0006) already is a side table: nothing to do there.
SEARCH_PARTITIONS = 16
PG_UP = [
    "CREATE FUNCTION kb_article_search_vector(title text, tags json, body text) RETURNS tsvector "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT "
    "setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(tags::text, '')), 'B') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(body, '')), 'C') $$",
    "CREATE TABLE kb_articles_search ("
    "article_id integer NOT NULL, tenant_id integer NOT NULL, status varchar(16) NOT NULL, "
    "visibility varchar(16) NOT NULL, language varchar(16) NOT NULL, tags jsonb NOT NULL, "
    "search_vector tsvector NOT NULL, "
    "CONSTRAINT pk_kb_articles_search PRIMARY KEY (article_id, tenant_id), "
    "CONSTRAINT fk_kb_articles_search_article_id_kb_articles FOREIGN KEY (article_id) "
    "REFERENCES kb_articles (id) ON DELETE CASCADE ON UPDATE CASCADE) PARTITION BY HASH (tenant_id)",
    *(
        f"CREATE TABLE kb_articles_search_{n} PARTITION OF kb_articles_search "
        f"FOR VALUES WITH (MODULUS {SEARCH_PARTITIONS}, REMAINDER {n})"
        for n in range(SEARCH_PARTITIONS)
    ),
    # the existing articles, one tenant after the other: a tenant's rows share pages, so a search reads fewer
    "INSERT INTO kb_articles_search (article_id, tenant_id, status, visibility, language, tags, search_vector) "
    "SELECT id, tenant_id, status, visibility, language, CAST(tags AS jsonb), "
    "kb_article_search_vector(title, tags, body) FROM kb_articles ORDER BY tenant_id, id",
    "CREATE INDEX ix_kb_articles_search_tenant_id ON kb_articles_search (tenant_id)",
    "CREATE INDEX ix_kb_articles_search_search_vector ON kb_articles_search USING gin (search_vector) "
    "WITH (fastupdate = off)",
    "CREATE FUNCTION kb_articles_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO kb_articles_search (article_id, tenant_id, status, visibility, language, tags, search_vector) "
    "VALUES (NEW.id, NEW.tenant_id, NEW.status, NEW.visibility, NEW.language, CAST(NEW.tags AS jsonb), "
    "kb_article_search_vector(NEW.title, NEW.tags, NEW.body)); RETURN NULL; END $$",
    # publishing changes the status only: the words are tokenized again only when the text changed
    "CREATE FUNCTION kb_articles_search_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE kb_articles_search SET tenant_id = NEW.tenant_id, status = NEW.status, "
    "visibility = NEW.visibility, language = NEW.language, tags = CAST(NEW.tags AS jsonb), "
    "search_vector = CASE WHEN (NEW.title, NEW.body, CAST(NEW.tags AS text)) "
    "IS DISTINCT FROM (OLD.title, OLD.body, CAST(OLD.tags AS text)) "
    "THEN kb_article_search_vector(NEW.title, NEW.tags, NEW.body) ELSE search_vector END "
    "WHERE article_id = NEW.id AND tenant_id = OLD.tenant_id; RETURN NULL; END $$",
    "CREATE TRIGGER kb_articles_search_insert AFTER INSERT ON kb_articles "
    "FOR EACH ROW EXECUTE FUNCTION kb_articles_search_insert()",
    # an edit's version/updated_at alone (or a no-op save) leaves the side table alone
    "CREATE TRIGGER kb_articles_search_update AFTER UPDATE ON kb_articles FOR EACH ROW WHEN ("
    "(OLD.title, OLD.body, CAST(OLD.tags AS text), OLD.tenant_id, OLD.status, OLD.visibility, OLD.language) "
    "IS DISTINCT FROM "
    "(NEW.title, NEW.body, CAST(NEW.tags AS text), NEW.tenant_id, NEW.status, NEW.visibility, NEW.language)) "
    "EXECUTE FUNCTION kb_articles_search_update()",
    "DROP INDEX ix_kb_articles_search_vector",
    "ALTER TABLE kb_articles DROP COLUMN search_vector",
]
PG_DOWN = [
    "ALTER TABLE kb_articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(tags::text, '')), 'B') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(body, '')), 'C')) STORED",
    "CREATE INDEX ix_kb_articles_search_vector ON kb_articles USING gin (search_vector)",
    "DROP TRIGGER kb_articles_search_update ON kb_articles",
    "DROP TRIGGER kb_articles_search_insert ON kb_articles",
    "DROP FUNCTION kb_articles_search_update()",
    "DROP FUNCTION kb_articles_search_insert()",
    "DROP TABLE kb_articles_search",
    "DROP FUNCTION kb_article_search_vector(text, json, text)",
]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _run(PG_UP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _run(PG_DOWN)
