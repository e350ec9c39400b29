"""The demo's Knowledge Base step on the ticket the demo's mail makes (the full demo: tests/e2e/test_demo.py)."""

from __future__ import annotations

from email import message_from_bytes

from tvoxcc.demo_kb import kb_suggests_articles
from tvoxcc.demo_mail import customer_mail
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


async def test_demo_articles_are_suggested_for_the_demo_ticket(store: Store) -> None:
    mail = message_from_bytes(customer_mail())
    async with store.session() as s:
        tenant = m.Tenant(name="acme")
        s.add(tenant)
        await s.commit()
    async with store.tenant(tenant.id) as s:
        ticket = m.Ticket(number=1001, subject=str(mail["Subject"]))
        s.add(ticket)
        await s.flush()
        s.add(m.TicketMessage(ticket_id=ticket.id, kind="inbound", body_text=str(mail.get_payload())))
        await s.commit()
    lines: list[str] = []
    await kb_suggests_articles(store, lines.append)
    assert lines[1].startswith("Knowledge Base: 2 articles published; for T-1001 (searched: order arrived")
    assert lines[2:] == ["  suggested: order-not-arrived — An order has not arrived [public]"]
