"""The demo's Support-host part: a customer mail, through a real Dovecot, becomes a ticket with an answer.

A private Dovecot (tvoxcc.mail.lab_dovecot) receives the customer's mail; one ingest pass turns it into
ticket T-1001 with its acknowledgement queued in the outbox; the support service submits it to the ACD
service as a mail item and the ACD (run here in process, as `tvoxcc support run --acd` does; the voice
service has given the lease up) gives it to a support agent by the queue's rules, which starts its SLA
clocks; one outbox pass "sends" the acknowledgement (kept in memory: the demo has no mail relay to reach)
so the demo can print what the customer would receive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from sqlalchemy import select

from tvoxcc.acd import AcdService, InStore, StoreConfig, load
from tvoxcc.acd.status import status_report
from tvoxcc.config import MailAccount
from tvoxcc.mail.ingest import MailboxIngester, resolve_mailbox
from tvoxcc.mail.lab_dovecot import LabDovecot, start_dovecot
from tvoxcc.mail.outbox import drain_outbox
from tvoxcc.mail.smtp import MemorySender
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.types import utcnow
from tvoxcc.support import desk
from tvoxcc.support.agents_store import set_presence
from tvoxcc.support.dispatch import DeskPresence
from tvoxcc.support.dispatch_store import tick
from tvoxcc.support.status import TicketStatus

SUPPORT_ADDRESS = "sales@acme.test"


def customer_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Giulia Verdi <giulia.verdi@example.test>"
    msg["To"] = SUPPORT_ADDRESS
    msg["Subject"] = "Order 4711 has not arrived"
    msg["Message-ID"] = make_msgid(domain="example.test")
    msg.set_content("Hello,\nmy order 4711 was due on Monday and has not arrived yet. Can you check?\nGiulia\n")
    return bytes(msg)


async def mail_becomes_ticket(store: Store, say: Callable[[str], None]) -> None:
    server = await asyncio.to_thread(start_dovecot, {"sales": "demo-mail-pw"})
    try:
        server.deliver("sales", customer_mail())
        say(f"demo: Dovecot on 127.0.0.1:{server.port}; a customer's mail is in sales@acme.test's inbox")
        account = server.account("sales", tenant="acme", service="sales", address=SUPPORT_ADDRESS)
        box = await resolve_mailbox(store, account)
        await MailboxIngester(store, account, box, MailTemplates(), clock=utcnow).ingest_once()
        status = await _routed_by_the_acd(store, box.tenant_id)
        sender = MemorySender()
        await drain_outbox(store, sender, now=utcnow)
        async with store.tenant(box.tenant_id) as session:
            rows = await desk.queue_rows(session)
            thread = await desk.thread_of(session, int(str(rows[0]["number"]).removeprefix("T-")))
            hours = (
                await session.execute(select(m.Service.business_hours).where(m.Service.id == box.service_id))
            ).scalar_one()
        looped = await _acknowledgement_comes_back(store, server, account, sender.sent)
    finally:
        await asyncio.to_thread(server.stop)
    say("")
    say(f"Ticket {thread['number']} ({thread['status']}): {thread['subject']}")
    for message in thread["messages"]:
        say(f"  {message['kind']:<8} {message['author']}: {message['subject']}")
    first = thread["sla_clocks"].get("first_response", {})
    say(f"ACD: {thread['number']} assigned to {thread['agent'] or 'nobody'}; first response due {first.get('due')}")
    if hours:
        say(f"  (SLA minutes are business minutes: {hours}, holidays off, in the tenant's timezone)")
    who = status["acd"]
    say(f"`tvoxcc acd status -t acme`: routing {who['host']} pid {who['pid']}; waiting {status['waiting'] or 'none'}")
    for agent in status["agents"]:
        say(f"  {agent['agent']:<12} {agent['state']:<10} in use {agent['in_use']}")
    for sent in sender.sent:
        say(f"Acknowledgement sent to {sent['To']}: {sent['Subject']}")
    say(f"The customer's forwarding rule sent it back (our X-Loop header on it): {looped}")


async def _routed_by_the_acd(store: Store, tenant_id: int) -> dict[str, Any]:
    """Anna logs in for tickets; the support service's pass submits the ticket, the ACD routes it, the next pass
    applies its offer (what `support run` and a running ACD do within a second); `acd status` while it routes."""
    async with store.tenant(tenant_id) as session:
        await set_presence(session, "anna", DeskPresence.AVAILABLE, utcnow())  # `tvoxcc support login`
        await session.commit()
    acd = AcdService(store, StoreConfig(store), transports=[InStore()])
    await acd.start()
    try:
        await tick(store, utcnow())  # submitted as a mail item of its queue (auto-accepted when offered)
        while await acd.take_inputs():
            pass
        await acd.flush()  # the offer is committed, and with it the ticket's place in anna's mail capacity
        await tick(store, utcnow(), sla=False)  # the offer applied: the ticket is assigned
        return status_report(await load(store), utcnow(), tenant_id)
    finally:
        await acd.stop()


def _forwarded_back(ours: EmailMessage) -> bytes:
    """What a customer's forwarding rule makes of our mail: theirs now, our other headers (X-Loop) kept."""
    copy = EmailMessage()
    for name, value in ours.items():
        if name.lower() not in ("from", "to", "message-id", "auto-submitted", "mime-version", "content-type"):
            copy[name] = value
    copy["From"], copy["To"] = ours["To"], ours["From"]
    copy["Message-ID"] = make_msgid(domain="example.test")
    copy.set_content(ours.get_content())
    return bytes(copy)


async def _acknowledgement_comes_back(
    store: Store, server: LabDovecot, account: MailAccount, sent: list[EmailMessage]
) -> str:
    """Our acknowledgement, forwarded back to the mailbox: stored on its ticket flagged 'loop', never answered."""
    server.deliver("sales", [_forwarded_back(mail) for mail in sent])
    box = await resolve_mailbox(store, account)
    await MailboxIngester(store, account, box, MailTemplates(), clock=utcnow).ingest_once()
    async with store.tenant(box.tenant_id) as session:
        message = (
            await session.execute(select(m.TicketMessage).order_by(m.TicketMessage.id.desc()).limit(1))
        ).scalar_one()
        number = (await session.execute(select(m.Ticket.number).where(m.Ticket.id == message.ticket_id))).scalar_one()
        queued = (
            await session.execute(select(m.OutboxMail.id).where(m.OutboxMail.status == m.OutboxStatus.QUEUED))
        ).all()
    return f"stored on T-{number} flagged {', '.join(message.flags)}, acknowledgements queued: {len(queued)}"


async def agent_answers(store: Store, say: Callable[[str], None], *, number: int = 1001) -> None:
    """The assigned agent answers with the suggested article and marks the ticket solved: both mails go out."""
    async with store.session() as session:
        tenant = (await session.execute(select(m.Tenant).where(m.Tenant.name == "acme"))).scalar_one()
    templates = MailTemplates()
    async with store.tenant(tenant.id) as session:
        thread = await desk.thread_of(session, number)
        agent = str(thread["agent"] or "sara")
        body = "Your parcel left our warehouse yesterday: https://acme.test/t/4711 (see 'An order has not arrived')."
        display = tenant.display_name or tenant.name
        await desk.reply(
            session, number, body, tenant_name=tenant.name, tenant_display=display, agent=agent, now=utcnow(),
            templates=templates,
        )  # fmt: skip
        await desk.set_status(
            session, number, TicketStatus.SOLVED, now=utcnow(), notify=desk.Notifier(tenant.name, display, templates)
        )
        await session.commit()
    sender = MemorySender()
    await drain_outbox(store, sender, now=utcnow)
    say(f"{agent} replied and marked T-{number} solved (`tvoxcc support reply`, `support status … solved`):")
    for sent in sender.sent:
        first_line = sent.get_content().strip().splitlines()[0]
        say(f"  sent to {sent['To']}: {sent['Subject']} — {first_line}")
