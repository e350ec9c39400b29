"""`tvoxcc recording`: list, show, export, delete, legal hold and the retention purge of call recordings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from tvoxcc import audit
from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.repository import tenant_id_of
from tvoxcc.cli._common import emit_json, emit_table, emit_yaml, json_option, settings_of, tenant_option, with_store
from tvoxcc.cli.when import Moment
from tvoxcc.recordings import access
from tvoxcc.recordings.crypto import RecordingKeyError, new_key
from tvoxcc.recordings.query import RecordingFilter, find, one, public
from tvoxcc.recordings.repository import ChecksumMismatch, Repository
from tvoxcc.recordings.retention import purge_expired
from tvoxcc.store.engine import Store

T = TypeVar("T")
COLUMNS = ["id", "started_at", "duration_s", "queue", "agent", "leg", "number", "legal_hold", "encrypted"]


@click.group()
def recording() -> None:
    """Call recordings: find, play out, hold and delete them."""


def _checked(ctx: click.Context, action: Callable[[Store], Awaitable[T]]) -> T:
    """Run ``action``; what the repository refuses becomes one `error:` line."""

    async def go(store: Store) -> T:
        try:
            return await action(store)
        except (LookupError, RecordingKeyError, ChecksumMismatch, access.HeldRecording) as exc:
            raise AdminError(str(exc).strip("'\"")) from exc

    return with_store(ctx, go)


@recording.command("list")
@tenant_option
@click.option("--since", type=Moment(), help="Started at or after: 2026-12-01, 2026-12-01T08:00, 7d.")
@click.option("--until", type=Moment(), help="Started before.")
@click.option("--queue", help="Queue name.")
@click.option("--agent", help="Agent name.")
@click.option("--contact", "contact_id", type=int, help="Contact id.")
@click.option("--number", help="The customer's number, or its last digits.")
@click.option("--min-duration", type=click.FloatRange(min=0), help="At least this many seconds.")
@click.option("--held/--not-held", default=None, help="Only recordings on (or not on) legal hold.")
@click.option("--limit", type=click.IntRange(min=1), default=500, show_default=True)
@json_option
@click.pass_context
def list_(ctx: click.Context, /, tenant: str, as_json: bool, **filters: Any) -> None:
    """List a tenant's recordings, newest first."""
    spec = RecordingFilter(
        since=filters["since"],
        until=filters["until"],
        queue=filters["queue"],
        agent=filters["agent"],
        contact_id=filters["contact_id"],
        number=filters["number"],
        min_duration_s=filters["min_duration"],
        held=filters["held"],
        limit=filters["limit"],
    )

    async def go(store: Store) -> list[dict[str, Any]]:
        tenant_id = await tenant_id_of(store, tenant)
        async with store.tenant(tenant_id) as session:
            return await find(session, tenant_id, spec)

    rows = with_store(ctx, go)
    emit_json(rows) if as_json else emit_table(rows, COLUMNS)


@recording.command("show")
@tenant_option
@click.argument("recording_id", metavar="ID", type=int)
@json_option
@click.pass_context
def show(ctx: click.Context, tenant: str, recording_id: int, as_json: bool) -> None:
    """Show one recording's metadata."""

    async def go(store: Store) -> dict[str, Any]:
        tenant_id = await tenant_id_of(store, tenant)
        async with store.tenant(tenant_id) as session:
            return public(*await one(session, tenant_id, recording_id))

    data = _checked(ctx, go)
    emit_json(data) if as_json else emit_yaml(data)


@recording.command("export")
@tenant_option
@click.argument("recording_id", metavar="ID", type=int)
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@click.pass_context
def export(ctx: click.Context, tenant: str, recording_id: int, out: Path, force: bool) -> None:
    """Write a recording's audio (decrypted, checked against its checksum) to a file; audited."""
    if out.exists() and not force:
        raise AdminError(f"--out {out}: exists (use --force to overwrite)")
    repository = Repository.of(settings_of(ctx))

    async def go(store: Store) -> bytes:
        _row, audio = await access.read_audio(
            store, repository, tenant, recording_id, actor=audit.cli_actor(), action=audit.AuditAction.RECORDING_EXPORT
        )
        return audio

    audio = _checked(ctx, go)
    try:
        out.write_bytes(audio)
    except OSError as exc:
        raise AdminError(f"--out {out}: cannot write: {exc.strerror}") from exc
    click.echo(f"recording {recording_id}: {len(audio)} bytes written to {out}")


@recording.command("delete")
@tenant_option
@click.argument("recording_id", metavar="ID", type=int)
@click.pass_context
def delete(ctx: click.Context, tenant: str, recording_id: int) -> None:
    """Delete a recording (its row and its file); refused while on legal hold; audited."""
    repository = Repository.of(settings_of(ctx))
    _checked(ctx, lambda store: access.delete(store, repository, tenant, recording_id, actor=audit.cli_actor()))
    click.echo(f"deleted recording {recording_id}")


@recording.command("hold")
@tenant_option
@click.argument("recording_id", metavar="ID", type=int)
@click.option("--reason", default="", help="Why (a case number): kept in the audit log.")
@click.pass_context
def hold(ctx: click.Context, tenant: str, recording_id: int, reason: str) -> None:
    """Put a recording on legal hold: retention and delete leave it alone until released."""
    _checked(
        ctx, lambda store: access.set_hold(store, tenant, recording_id, True, actor=audit.cli_actor(), reason=reason)
    )
    click.echo(f"recording {recording_id} is on legal hold")


@recording.command("release")
@tenant_option
@click.argument("recording_id", metavar="ID", type=int)
@click.pass_context
def release(ctx: click.Context, tenant: str, recording_id: int) -> None:
    """Release a recording's legal hold."""
    _checked(ctx, lambda store: access.set_hold(store, tenant, recording_id, False, actor=audit.cli_actor()))
    click.echo(f"recording {recording_id} released from legal hold")


@recording.command("purge")
@json_option
@click.pass_context
def purge(ctx: click.Context, as_json: bool) -> None:
    """Delete every tenant's recordings past retention now (`insight run` does it every hour)."""
    repository = Repository.of(settings_of(ctx))
    done = with_store(ctx, lambda store: purge_expired(store, repository, datetime.now(UTC)))
    rows = [{"tenant": p.tenant, "days": p.days, "deleted": p.deleted, "held": p.held} for p in done]
    emit_json(rows) if as_json else emit_table(rows, ["tenant", "days", "deleted", "held"])


@recording.command("new-key")
def new_key_() -> None:
    """Print a fresh AES-256 key (base64) for `[recordings.tenants.NAME] key_file`."""
    click.echo(new_key())
