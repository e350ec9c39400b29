"""`tvoxcc init`: write a config file (secrets generated, mode 0600) and bring the database to head.

Idempotent: an existing config file is kept as it is (its secrets too); the database is upgraded.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from tvoxcc.cli._common import database_url, fail, settings_of
from tvoxcc.config import config_path
from tvoxcc.store.migrate import upgrade

TEMPLATE = """\
# tvoxcc configuration. Environment variables override any key: TVOXCC_<SECTION>__<KEY>.
data_dir = "{data_dir}"

[database]
# sqlite:////path/file.db (embedded) or postgresql://user:password@host:5432/tvoxcc
url = "{database_url}"

[asterisk]
ari_url = "http://127.0.0.1:8088"
ari_user = "tvoxcc"
ari_password = "{ari_password}"
ari_app = "tvoxcc"
ami_host = "127.0.0.1"
ami_port = 5038
ami_user = "tvoxcc"
ami_secret = "{ami_secret}"
sip_host = "127.0.0.1"
sip_port = 5060

[agi]
host = "127.0.0.1"
port = 4573

[logging]
level = "INFO"

[web]
host = "127.0.0.1"
port = 8080
secret = "{web_secret}"
"""


def write_config(path: Path, data_dir: Path, db_url: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = TEMPLATE.format(
        data_dir=data_dir,
        database_url=db_url,
        ari_password=secrets.token_urlsafe(18),
        ami_secret=secrets.token_urlsafe(18),
        web_secret=secrets.token_urlsafe(32),
    )
    # Created 0600 from the first byte: the file holds secrets.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


@click.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: /var/lib/tvoxcc.")
@click.option("--database", "db_url", help="Database URL. Default: SQLite in the data dir.")
@click.pass_context
def init(ctx: click.Context, data_dir: Path | None, db_url: str | None) -> None:
    """Create the config file (if missing) and the database schema (or bring it up to date)."""
    path = config_path((ctx.find_root().obj or {}).get("config_path"))
    if path.exists():
        click.echo(f"config {path}: kept as it is")
    else:
        data_dir = (data_dir or Path("/var/lib/tvoxcc")).absolute()
        try:
            write_config(path, data_dir, db_url or f"sqlite:///{data_dir / 'tvoxcc.db'}")
        except OSError as exc:
            fail(f"cannot write {path}: {exc.strerror}")
        click.echo(f"config {path}: written (mode 0600)")
    settings = settings_of(ctx)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(database_url(settings))
    except Exception as exc:
        fail(f"database upgrade failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    click.echo("database: at the latest schema")
