"""`tvoxcc campaign`: outbound campaigns, their contact lists, the do-not-call list and the abandon ledger."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from tvoxcc import audit
from tvoxcc.admin.errors import AdminError
from tvoxcc.campaigns import store as cs
from tvoxcc.campaigns.contact_list import ListError, parse_list
from tvoxcc.campaigns.model import AbandonRule, CampaignStatus, DialMode, MachineAction
from tvoxcc.campaigns.spec import SpecError, parse_retry, parse_window
from tvoxcc.campaigns.windows import NumberError, normalise
from tvoxcc.cli._common import EXIT_ERROR, emit_json, emit_table, emit_yaml, json_option, tenant_option, with_store
from tvoxcc.store.engine import Store

COLUMNS = ["name", "status", "mode", "rule", "window", "queues", "groups", "pending", "done"]


@click.group()
def campaign() -> None:
    """Outbound campaigns: a contact list dialled in preview, progressive or predictive mode."""


def _settings_options(command: Any) -> Any:
    options = [
        click.option("--mode", type=click.Choice([m.value for m in DialMode]), help="How lines are paced."),
        click.option("--rule", type=click.Choice([r.value for r in AbandonRule]), help="The abandon rule's window."),
        click.option("--caller-id", help="The number the called party sees."),
        click.option("--window", help="When to call, in the called party's time: 'mon-fri 09:00-20:00'."),
        click.option(
            "--retry",
            "retries",
            multiple=True,
            help="OUTCOME=SECONDS or =never (busy, no-answer, machine, failed, or a disposition code); repeatable.",
        ),
        click.option("--max-attempts", type=int, help="Lines dialled per record at most."),
        click.option("--ring-s", type=float, help="How long an unanswered call rings (>= 15)."),
        click.option("--machine", type=click.Choice([a.value for a in MachineAction]), help="On an answering machine."),
        click.option("--amd-false-positives", type=float, help="UK rule: share of machine answers that were people."),
        click.option("--queue", "queues", multiple=True, help="A queue whose agents work it (repeatable; replaces)."),
        click.option("--group", "groups", multiple=True, help="A group whose agents work it (repeatable; replaces)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _apply(draft: cs.CampaignDraft, o: dict[str, Any]) -> cs.CampaignDraft:
    try:
        settings = draft.settings
        if o["window"] is not None:
            settings = replace(settings, window=parse_window(o["window"]))
        settings = settings.with_retries([parse_retry(r) for r in o["retries"]], o["max_attempts"])
        if o["ring_s"] is not None:
            settings = replace(settings, ring_s=o["ring_s"])
        if o["machine"] is not None:
            settings = replace(settings, machine_action=MachineAction(o["machine"]))
        if o["amd_false_positives"] is not None:
            settings = replace(settings, amd_false_positive_rate=o["amd_false_positives"])
    except SpecError as exc:
        raise AdminError(str(exc)) from None
    return replace(
        draft,
        mode=DialMode(o["mode"]) if o["mode"] else draft.mode,
        rule=AbandonRule(o["rule"]) if o["rule"] else draft.rule,
        caller_id=o["caller_id"] if o["caller_id"] is not None else draft.caller_id,
        settings=settings,
        queues=tuple(o["queues"]) or draft.queues,
        groups=tuple(o["groups"]) or draft.groups,
    )


def _show(view: cs.CampaignView) -> None:
    click.echo(f"campaign {view.name}: {view.status}, {view.draft.mode}, {sum(view.records.values())} records")


@campaign.command("add")
@tenant_option
@click.argument("name")
@_settings_options
@click.pass_context
def add(ctx: click.Context, /, tenant: str, name: str, **options: Any) -> None:
    """Add campaign NAME (a draft until `campaign start`)."""
    draft = _apply(cs.CampaignDraft(), options)
    _show(with_store(ctx, lambda store: cs.save_campaign(store, tenant, name, draft, new=True)))


@campaign.command("set")
@tenant_option
@click.argument("name")
@_settings_options
@click.pass_context
def set_(ctx: click.Context, /, tenant: str, name: str, **options: Any) -> None:
    """Change campaign NAME (options not given are kept)."""

    async def go(store: Store) -> cs.CampaignView:
        current = await cs.get_campaign(store, tenant, name)
        return await cs.save_campaign(store, tenant, name, _apply(current.draft, options), new=False)

    _show(with_store(ctx, go))


@campaign.command("show")
@tenant_option
@click.argument("name")
@json_option
@click.pass_context
def show(ctx: click.Context, tenant: str, name: str, as_json: bool) -> None:
    """Campaign NAME's settings and its records by state."""
    view = with_store(ctx, lambda store: cs.get_campaign(store, tenant, name))
    (emit_json if as_json else emit_yaml)(view.to_json())


@campaign.command("list")
@tenant_option
@json_option
@click.pass_context
def list_(ctx: click.Context, tenant: str, as_json: bool) -> None:
    """The tenant's campaigns."""
    views = with_store(ctx, lambda store: cs.list_campaigns(store, tenant))
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    rows = [{**v.to_json(), **v.records} for v in views]
    emit_table(rows, COLUMNS)


def _status_command(verb: str, status: CampaignStatus, help_: str) -> None:
    @campaign.command(verb, help=help_)
    @tenant_option
    @click.argument("name")
    @click.pass_context
    def command(ctx: click.Context, tenant: str, name: str) -> None:
        _show(with_store(ctx, lambda store: cs.set_status(store, tenant, name, status, actor=audit.cli_actor())))


_status_command(
    "start", CampaignStatus.RUNNING, "Start (or resume) dialling campaign NAME (`voice run` dials it for its queues)."
)
_status_command("pause", CampaignStatus.PAUSED, "Pause campaign NAME: no new lines; calls in progress go on.")
_status_command("stop", CampaignStatus.STOPPED, "Stop campaign NAME for good (its records keep their states).")


@campaign.command("import-list")
@tenant_option
@click.argument("name")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--number-column", default="number", show_default=True, help="The column holding the number.")
@click.option("--region", help="Country of numbers written without +prefix (default: the tenant's).")
@click.pass_context
def import_list(
    ctx: click.Context, tenant: str, name: str, csv_file: Path, number_column: str, region: str | None
) -> None:
    """Add CSV_FILE's records to campaign NAME: all of them, or none if any line is wrong."""
    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AdminError(f"{csv_file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None

    async def go(store: Store) -> int:
        records = parse_list(text, str(csv_file), number_column, region or await cs.tenant_region(store, tenant))
        return await cs.import_records(store, tenant, name, records, datetime.now(UTC))

    try:
        added = with_store(ctx, go)
    except ListError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        click.echo(f"error: {csv_file}: nothing imported ({len(exc.problems)} problems)", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(f"campaign {name}: {added} records imported from {csv_file}")


@campaign.command("stats")
@tenant_option
@click.argument("name")
@json_option
@click.pass_context
def stats(ctx: click.Context, tenant: str, name: str, as_json: bool) -> None:
    """Records by state, lines by outcome, and the abandon ledger over the rule's window."""
    data = with_store(ctx, lambda store: cs.campaign_stats(store, tenant, name, datetime.now(UTC)))
    if as_json:
        emit_json(data)
        return
    ledger = data["ledger"]
    click.echo(f"campaign {name}: {data['status']}, {data['mode']}")
    click.echo("records: " + ", ".join(f"{k} {v}" for k, v in data["records"].items()))
    click.echo("lines: " + (", ".join(f"{k} {v}" for k, v in sorted(data["lines"].items())) or "none yet"))
    click.echo(
        f"abandon ledger ({ledger['rule']}, {ledger['window_hours']:g} h): {ledger['abandoned']:g} abandoned of "
        f"{ledger['live_answered']:g} live-answered = {ledger['abandon_rate'] * 100:.2f}% (limit 3%)"
    )


@campaign.group("dnc")
def dnc() -> None:
    """The tenant's do-not-call list (checked when each record is dialled, whatever the campaign)."""


@dnc.command("add")
@tenant_option
@click.argument("numbers", nargs=-1, required=True)
@click.option("--reason", default="", help="Why (shown in `dnc list`).")
@click.pass_context
def dnc_add(ctx: click.Context, tenant: str, numbers: tuple[str, ...], reason: str) -> None:
    """Add NUMBERS to the do-not-call list."""

    async def go(store: Store) -> int:
        region = await cs.tenant_region(store, tenant)
        try:
            e164 = [normalise(n, region) for n in numbers]
        except NumberError as exc:
            raise AdminError(str(exc)) from None
        return await cs.add_do_not_call(store, tenant, e164, reason)

    click.echo(f"{with_store(ctx, go)} numbers added to the do-not-call list")


@dnc.command("remove")
@tenant_option
@click.argument("number")
@click.pass_context
def dnc_remove(ctx: click.Context, tenant: str, number: str) -> None:
    """Take NUMBER off the do-not-call list."""

    async def go(store: Store) -> str:
        try:
            e164 = normalise(number, await cs.tenant_region(store, tenant))
        except NumberError as exc:
            raise AdminError(str(exc)) from None
        await cs.remove_do_not_call(store, tenant, e164)
        return e164

    click.echo(f"{with_store(ctx, go)} removed from the do-not-call list")


@dnc.command("list")
@tenant_option
@json_option
@click.pass_context
def dnc_list(ctx: click.Context, tenant: str, as_json: bool) -> None:
    """The do-not-call list."""
    rows = with_store(ctx, lambda store: cs.list_do_not_call(store, tenant))
    if as_json:
        emit_json(rows)
        return
    emit_table(rows, ["number", "reason", "added_at"])
