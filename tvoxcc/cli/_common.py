"""What every CLI command shares: settings, the store, errors as one line and a non-zero exit, output."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any, NoReturn, TypeVar

import click
import yaml

from tvoxcc.admin.errors import AdminError
from tvoxcc.config import ConfigError, Settings, load_settings
from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import current_revision, head_revision

T = TypeVar("T")

EXIT_ERROR = 1  # bad input or a refused change
EXIT_CONFIG = 2  # the configuration itself is wrong


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def settings_of(ctx: click.Context) -> Settings:
    root = ctx.find_root()
    cached = root.meta.get("tvoxcc.settings")
    if isinstance(cached, Settings):
        return cached
    try:
        settings = load_settings((root.obj or {}).get("config_path"))
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {exc.source}: {problem}", err=True)
        sys.exit(EXIT_CONFIG)
    root.meta["tvoxcc.settings"] = settings
    return settings


def database_url(settings: Settings) -> str:
    return settings.database.url.get_secret_value()


@asynccontextmanager
async def open_store(settings: Settings, *, check_schema: bool = True) -> Any:
    url = database_url(settings)
    if check_schema:
        try:
            revision = await current_revision(url)
        except Exception as exc:
            raise AdminError(f"cannot open the database: {type(exc).__name__}: {first_line(exc)}") from exc
        if revision != head_revision():
            raise AdminError("the database is not initialised or not up to date: run `tvoxcc db upgrade`")
    store = Store.from_url(url, echo=settings.database.echo)
    try:
        yield store
    finally:
        await store.dispose()


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else ""


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine (an AdminError is reported by the root group: tvoxcc.cli.main)."""
    return asyncio.run(coro)


def with_store(ctx: click.Context, action: Callable[[Store], Awaitable[T]]) -> T:
    settings = settings_of(ctx)

    async def go() -> T:
        async with open_store(settings) as store:
            return await action(store)

    return run(go())


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def emit_yaml(data: Any) -> None:
    click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip())


def emit_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    if not rows:
        click.echo("(none)")
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ",".join(v if isinstance(v, str) else next(iter(v.values()), "") for v in value) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
tenant_option = click.option(
    "--tenant", "-t", envvar="TVOXCC_TENANT", required=True, help="Tenant name (or $TVOXCC_TENANT)."
)
