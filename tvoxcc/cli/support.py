"""`tvoxcc support`: the mail service (IMAP in, SMTP out) and the ticket desk."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

import click

from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.repository import find_tenant
from tvoxcc.cli._common import (
    emit_json,
    emit_table,
    json_option,
    open_store,
    run,
    settings_of,
    tenant_option,
    with_store,
)
from tvoxcc.cluster import ServiceKind, beating, run_as_leader
from tvoxcc.kb import store as kb
from tvoxcc.mail.service import run_once, run_service, templates_for
from tvoxcc.mail.tls import MailTlsError
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.types import utcnow
from tvoxcc.support import desk
from tvoxcc.support.agents_store import next_for, set_presence
from tvoxcc.support.dispatch import DeskPresence
from tvoxcc.support.dispatch_store import acd_routing, dispatch_forever, tick
from tvoxcc.support.status import TicketStatus
from tvoxcc.support.tickets import TicketError

number_argument = click.argument("number")
SUPPORT_LEASE = "support"


async def beat_as_acd(store: Store, routing: Any) -> None:
    """``--acd``: the embedded ACD's own heartbeat row (its role: the ACD's lease), while it runs."""
    from tvoxcc.acd.lease import LEASE

    async with beating(store, ServiceKind.ACD, lease=LEASE):
        await routing


def _number(text: str) -> int:
    digits = text.upper().removeprefix("T-").removeprefix("#T-")
    if not digits.isdigit():
        raise AdminError(f"bad ticket number {text!r}: use e.g. T-1001 or 1001")
    return int(digits)


async def _tenant(store: Store, name: str) -> m.Tenant:
    async with store.session() as session:
        return await find_tenant(session, name)


def _on_desk(ctx: click.Context, tenant_name: str, action: Any) -> Any:
    """Run ``action(session, tenant)`` in one tenant-scoped transaction; a TicketError is a one-line error."""

    async def go(store: Store) -> Any:
        tenant = await _tenant(store, tenant_name)
        async with store.tenant(tenant.id) as session:
            try:
                result = await action(session, tenant)
            except TicketError as exc:
                raise AdminError(str(exc)) from exc
            await session.commit()
            return result

    return with_store(ctx, go)


def _text(file: str | None, message: str | None, what: str) -> str:
    if message is not None:
        return message
    if file == "-":
        return click.get_text_stream("stdin").read()
    if file is not None:
        try:
            return Path(file).read_text()
        except OSError as exc:
            raise AdminError(f"cannot read {file}: {exc.strerror}") from exc
    edited = click.edit(f"\n# Write the {what} above. Lines starting with '#' are dropped.\n")
    if edited is None:
        raise AdminError(f"no {what} written: nothing done")
    return "\n".join(line for line in edited.splitlines() if not line.startswith("#"))


text_options = [
    click.option("--file", "-f", "file", help="Read the text from FILE ('-' for stdin); default: $EDITOR."),
    click.option("--message", "-m", "message", help="The text itself."),
    click.option("--agent", default="agent", show_default=True, help="Who writes it."),
]


def _with_text_options(command: Any) -> Any:
    for option in reversed(text_options):
        command = option(command)
    return command


@click.group()
def support() -> None:
    """Mail channel and support tickets."""


@support.command("run")
@click.option("--once", is_flag=True, help="One ingest pass over every mailbox and one outbox pass, then exit.")
@click.option("--poll", default=30.0, show_default=True, help="Seconds between checks when the server has no IDLE.")
@click.option(
    "--dispatch-every", default=5.0, show_default=True, help="Seconds between ticket passes (ACD requests, SLA)."
)
@click.option("--acd", "with_acd", is_flag=True, help="Run the ACD in this process too (standby if one routes).")
@click.pass_context
def run_(ctx: click.Context, once: bool, poll: float, dispatch_every: float, with_acd: bool) -> None:
    """The Support host service: ingest every mailbox, route tickets to support staff through the ACD, send the
    outbox. Tickets are routed by the running ACD (`voice run` embeds it, or `acd run`, or `--acd`): with none,
    they wait."""
    settings = settings_of(ctx)
    if not settings.mail.accounts:
        raise AdminError("no [[mail.accounts]] configured: nothing to ingest")
    logging.basicConfig(level=settings.logging.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def go() -> None:
        from tvoxcc.acd import AcdService, InStore, StoreConfig

        async with open_store(settings) as store:
            acd = AcdService(store, StoreConfig(store), transports=[InStore()], freeze_heap=True) if with_acd else None
            try:
                if once:
                    stats, drained = await run_once(settings, store)
                    assigned = await _one_pass(store, acd)
                    click.echo(
                        f"new tickets {stats.new_tickets}, added {stats.added}, rejected {stats.rejected}, "
                        f"duplicates {stats.duplicates}; sent {drained.sent}, send failures {drained.failed}; "
                        f"assigned {assigned}"
                    )
                    if acd is None and not await acd_routing(store, utcnow()):
                        click.echo("no ACD is routing: unassigned tickets wait (`tvoxcc acd status` shows them)")
                    return
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(sig, stop.set)

                async def serve(active: asyncio.Event) -> None:  # only while this instance holds the lease
                    await asyncio.gather(
                        run_service(settings, store, active, poll_interval=poll),
                        dispatch_forever(store, active, clock=utcnow, interval=dispatch_every),
                    )

                # One active support service at a time (lease "support"): a second one stands by, so no mail,
                # outbox row or ticket pass is processed twice. The ACD (--acd) has its own lease.
                async with beating(store, ServiceKind.SUPPORT, lease=SUPPORT_LEASE):
                    tasks = [run_as_leader(store, SUPPORT_LEASE, stop, serve)]
                    if acd is not None:
                        tasks.append(beat_as_acd(store, acd.run(stop)))
                    await asyncio.gather(*tasks)
            except (TicketError, MailTlsError) as exc:  # a TLS refusal names the server and the CA, no secret
                raise AdminError(str(exc)) from exc

    run(go())


async def _one_pass(store: Store, acd: Any) -> int:
    """Tickets submitted; with ``acd`` (free lease), routed in this process and the offers applied."""
    assigned = len((await tick(store, utcnow())).assigned)
    if acd is None or not await acd.start(wait=False):
        return assigned
    try:
        while await acd.take_inputs():
            pass
        await acd.flush()
    finally:
        await acd.stop()
    return assigned + len((await tick(store, utcnow(), sla=False)).assigned)


@support.command("queue")
@tenant_option
@click.option("--all", "include_all", is_flag=True, help="Solved and closed tickets too.")
@click.option("--agent", help="Only what waits for AGENT: their tickets and the unassigned ones of their queues.")
@json_option
@click.pass_context
def queue(ctx: click.Context, tenant: str, include_all: bool, agent: str | None, as_json: bool) -> None:
    """Tickets waiting for work (new, open, pending-customer), most urgent first (SLA, then priority, then age)."""
    rows = _on_desk(ctx, tenant, lambda s, _t: desk.queue_rows(s, include_all=include_all, now=utcnow(), agent=agent))
    if as_json:
        emit_json(rows)
        return
    emit_table(rows, ["number", "status", "priority", "sla", "customer", "agent", "subject", "updated"])


@support.command("show")
@tenant_option
@number_argument
@json_option
@click.pass_context
def show(ctx: click.Context, tenant: str, number: str, as_json: bool) -> None:
    """A ticket's whole thread: mails in and out, notes, attachments."""

    async def go(session: Any, _t: m.Tenant) -> tuple[dict[str, Any], list[kb.Hit]]:
        thread = await desk.thread_of(session, _number(number), now=utcnow())
        return thread, (await kb.suggest(session, _number(number)))[1]  # Knowledge Base articles for it

    data, hits = _on_desk(ctx, tenant, go)
    data["suggested_articles"] = [{"slug": h.slug, "title": h.title, "visibility": h.visibility} for h in hits]
    if as_json:
        emit_json(data)
        return
    click.echo(f"{data['number']}  [{data['status']}]  {data['subject']}")
    click.echo(f"agent: {data['agent'] or '-'}  priority: {data['priority']}")
    for name, clock in data["sla_clocks"].items():
        due = f", due {clock['due']}" if clock["due"] else ""
        click.echo(f"SLA {name.replace('_', ' ')}: {clock['state']}{due} ({clock['remaining_s'] // 60} min left)")
    for msg in data["messages"]:
        delivery = f" ({msg['delivery']})" if msg["delivery"] else ""
        click.echo(f"\n--- {msg['at']}  {msg['kind']}{delivery}  {msg['author']}")
        if msg["flags"]:
            click.echo(f"flags: {', '.join(msg['flags'])}")
        click.echo(msg["body"].rstrip())
        for a in msg["attachments"]:
            blocked = f" BLOCKED, not stored: {a['blocked']}" if a["blocked"] else ""
            click.echo(f"[attachment] {a['filename']} ({a['content_type']}, {a['size']} bytes){blocked}")
    if hits:
        click.echo("\nSuggested articles (tvoxcc kb show -t TENANT SLUG):")
        for h in hits:
            click.echo(f"  {h.slug}  {h.title}  [{h.visibility}]")


@support.command("reply")
@tenant_option
@number_argument
@_with_text_options
@click.pass_context
def reply(ctx: click.Context, tenant: str, number: str, file: str | None, message: str | None, agent: str) -> None:
    """Queue a reply mail quoting the thread; the ticket becomes pending-customer."""
    body = _text(file, message, "reply")
    templates = templates_for(settings_of(ctx))

    async def go(session: Any, t: m.Tenant) -> str:
        row = await desk.reply(
            session,
            _number(number),
            body,
            tenant_name=t.name,
            tenant_display=t.display_name or t.name,
            agent=agent,
            now=utcnow(),
            templates=templates,
        )
        return row.to_address

    to = _on_desk(ctx, tenant, go)
    click.echo(f"reply to {to} queued for T-{_number(number)}; status pending-customer")


@support.command("note")
@tenant_option
@number_argument
@_with_text_options
@click.pass_context
def note(ctx: click.Context, tenant: str, number: str, file: str | None, message: str | None, agent: str) -> None:
    """Add an internal note (never mailed)."""
    body = _text(file, message, "note")
    _on_desk(ctx, tenant, lambda s, _t: desk.note(s, _number(number), body, agent=agent, now=utcnow()))
    click.echo(f"note added to T-{_number(number)}")


@support.command("status")
@tenant_option
@number_argument
@click.argument("status", type=click.Choice([s.value for s in TicketStatus]))
@click.option("--notify/--no-notify", default=True, show_default=True, help="Mail the customer when it becomes solved.")
@click.pass_context
def status(ctx: click.Context, tenant: str, number: str, status: str, notify: bool) -> None:
    """Set a ticket's status; solved tells the customer by mail (an answer reopens the ticket)."""
    templates = templates_for(settings_of(ctx))

    async def go(session: Any, t: m.Tenant) -> str:
        notifier = desk.Notifier(t.name, t.display_name or t.name, templates) if notify else None
        return await desk.set_status(session, _number(number), status, now=utcnow(), notify=notifier)

    previous = _on_desk(ctx, tenant, go)
    solved = TicketStatus.SOLVED
    told = " (the customer is told)" if notify and status == solved and previous != solved else ""
    click.echo(f"T-{_number(number)}: {previous} -> {status}{told}")


@support.command("priority")
@tenant_option
@number_argument
@click.argument("priority", type=int)
@click.pass_context
def priority(ctx: click.Context, tenant: str, number: str, priority: int) -> None:
    """Set a ticket's priority (0 to 100, higher is served first)."""
    previous = _on_desk(ctx, tenant, lambda s, _t: desk.set_priority(s, _number(number), priority, now=utcnow()))
    click.echo(f"T-{_number(number)}: priority {previous} -> {priority}")


@support.command("close")
@tenant_option
@number_argument
@click.pass_context
def close(ctx: click.Context, tenant: str, number: str) -> None:
    """Close a ticket for good (a new mail from the customer opens a new one)."""
    previous = _on_desk(
        ctx, tenant, lambda s, _t: desk.set_status(s, _number(number), TicketStatus.CLOSED, now=utcnow())
    )
    click.echo(f"T-{_number(number)}: {previous} -> closed")


@support.command("assign")
@tenant_option
@number_argument
@click.argument("agent", required=False)
@click.pass_context
def assign(ctx: click.Context, tenant: str, number: str, agent: str | None) -> None:
    """Give a ticket to AGENT by hand (no AGENT: unassign); `support run` routes the others through the ACD."""
    _on_desk(ctx, tenant, lambda s, _t: desk.assign(s, _number(number), agent, now=utcnow()))
    click.echo(f"T-{_number(number)} assigned to {agent}" if agent else f"T-{_number(number)} unassigned")


@support.command("next")
@tenant_option
@click.option("--agent", "agent", required=True, help="The support agent asking for work.")
@json_option
@click.pass_context
def next_(ctx: click.Context, tenant: str, agent: str, as_json: bool) -> None:
    """Take the ticket the ACD gives AGENT next, even while paused (their queues and skills, priority, age; within
    their mail capacity). Needs a routing ACD."""

    async def go(store: Store) -> Any:
        t = await _tenant(store, tenant)
        try:
            return await next_for(store, t.id, agent, utcnow())
        except TicketError as exc:
            raise AdminError(str(exc)) from exc

    got = with_store(ctx, go)
    if as_json:
        emit_json({"number": f"T-{got.number}", "agent": got.agent, "queue": got.queue} if got else None)
    elif got is None:
        click.echo(f"no ticket waiting for {agent}")
    else:
        click.echo(f"T-{got.number} assigned to {agent} (queue {got.queue})")


def _presence_command(name: str, state: DeskPresence, doc: str) -> None:
    @support.command(name, help=doc)
    @tenant_option
    @click.option("--agent", "agent", required=True, help="The support agent.")
    @click.pass_context
    def command(ctx: click.Context, tenant: str, agent: str) -> None:
        _on_desk(ctx, tenant, lambda s, _t: set_presence(s, agent, state, utcnow()))
        click.echo(f"{agent}: {state} for tickets (and calls: one ACD state)")


_presence_command("login", DeskPresence.AVAILABLE, "AGENT is logged in and unpaused in the ACD (tickets and calls).")
_presence_command(
    "pause", DeskPresence.PAUSED, "AGENT is paused in the ACD: nothing new offered (`support next` works)."
)
_presence_command("logout", DeskPresence.LOGGED_OUT, "AGENT is logged out of the ACD (once no ticket is in hand).")
