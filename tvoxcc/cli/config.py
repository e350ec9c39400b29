"""`tvoxcc config`: check and show the configuration (secrets masked)."""

from __future__ import annotations

import click

from tvoxcc.cli._common import EXIT_CONFIG, emit_json, emit_yaml, json_option
from tvoxcc.config import ConfigError, config_path, load_settings


@click.group()
def config() -> None:
    """Configuration file and environment overrides."""


@config.command("check")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the config file and environment; name every bad key and why."""
    path = config_path((ctx.find_root().obj or {}).get("config_path"))
    try:
        load_settings(path, require_file=True)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {exc.source}: {problem}", err=True)
        raise SystemExit(EXIT_CONFIG) from exc
    click.echo(f"{path}: OK")


@config.command("show")
@json_option
@click.pass_context
def show(ctx: click.Context, as_json: bool) -> None:
    """Print the effective settings, secrets masked."""
    try:
        settings = load_settings((ctx.find_root().obj or {}).get("config_path"))
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {exc.source}: {problem}", err=True)
        raise SystemExit(EXIT_CONFIG) from exc
    data = settings.redacted()
    emit_json(data) if as_json else emit_yaml(data)
