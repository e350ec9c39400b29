"""A stored journey for store and CLI tests: two tenants, a known contact, a duplicate, an unknown caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

PHONE = "+390212345678"
UNKNOWN = "+390255555555"


def t(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


@dataclass
class Seeded:
    tenant: int
    other_tenant: int
    anna: int  # known: name, VIP, phone and e-mail
    dup: int  # the same person, auto-created by mail, phone stored as typed
    other: int  # the other tenant's contact with the same phone
    calls: list[int]  # anna's calls, oldest first
    mail: int  # the duplicate's mail interaction
    ticket: int
    callback: int
    unknown_call: int


async def seed(store: Store, *, extra_calls: int = 0) -> Seeded:
    async with store.session() as s:
        acme = m.Tenant(name="acme", timezone="Europe/Rome", country="IT")
        globex = m.Tenant(name="globex", timezone="UTC", country="IT")
        s.add_all([acme, globex])
        await s.flush()
        service = m.Service(tenant_id=acme.id, name="sales", channels=["voice", "mail"])
        s.add(service)
        await s.flush()
        queue = m.Queue(tenant_id=acme.id, name="sales-it", service_id=service.id)
        mario = m.Agent(tenant_id=acme.id, name="mario", extension="201", sip_password="x")
        luigi = m.Agent(tenant_id=acme.id, name="luigi", extension="202", sip_password="x")
        anna = m.Contact(tenant_id=acme.id, display_name="Anna Rossi", vip=True, language="it")
        anna.phones.append(m.ContactPhone(tenant_id=acme.id, number=PHONE))
        anna.emails.append(m.ContactEmail(tenant_id=acme.id, email="anna@example.com"))
        dup = m.Contact(tenant_id=acme.id, display_name="ANNA@example.com")
        dup.phones.append(m.ContactPhone(tenant_id=acme.id, number="02 1234 5678"))
        dup.phones.append(m.ContactPhone(tenant_id=acme.id, number="333 111 2222"))
        dup.emails.append(m.ContactEmail(tenant_id=acme.id, email="ANNA@example.com"))
        other = m.Contact(tenant_id=globex.id, display_name="Someone Else")
        other.phones.append(m.ContactPhone(tenant_id=globex.id, number=PHONE))
        s.add_all([queue, mario, luigi, anna, dup, other])
        await s.flush()

        calls = []
        for n in range(2 + extra_calls):
            start = t(10, 9) + timedelta(hours=n)
            call = m.Interaction(
                tenant_id=acme.id,
                channel="voice",
                service_id=service.id,
                contact_id=anna.id,
                external_id=f"chan-{n}",
                from_address=PHONE,
                to_address="sales",
                offered_at=start,
                answered_at=start + timedelta(seconds=40) if n != 1 else None,
                ended_at=start + timedelta(seconds=160 if n != 1 else 70),
                outcome="answered" if n != 1 else "abandoned",
                queue_id=queue.id if n != 1 else None,
                agent_id=mario.id if n != 1 else None,
                recording=f"rec-{n}.wav" if n == 0 else None,
            )
            s.add(call)
            await s.flush()
            calls.append(call.id)
            events = [
                ("offered", start, {"caller": PHONE}, None, None),
                ("ivr-node", start + timedelta(seconds=1), {"node": "welcome"}, None, None),
                ("ivr-node", start + timedelta(seconds=4), {"node": "menu"}, None, None),
                ("ivr-input", start + timedelta(seconds=8), {"node": "menu", "digit": "2"}, None, None),
                ("queued", start + timedelta(seconds=10), {"queue": "sales-it"}, None, None),
                ("item-queued", start + timedelta(seconds=10), {"detail": ""}, queue.id, None),
                ("ringing", start + timedelta(seconds=12), {}, queue.id, mario.id),  # not read by the journey
            ]
            if n != 1:
                events.append(("item-connected", start + timedelta(seconds=40), {"value": 30}, queue.id, mario.id))
            for kind, at, data, qid, aid in events:
                s.add(
                    m.InteractionEvent(
                        tenant_id=acme.id,
                        interaction_id=call.id,
                        kind=kind,
                        at=at,
                        data=data,
                        queue_id=qid,
                        agent_id=aid,
                    )
                )
        s.add(
            m.NpsAnswer(tenant_id=acme.id, interaction_id=calls[0], agent_id=mario.id, score=9, answered_at=t(10, 9, 3))
        )

        ticket = m.Ticket(
            tenant_id=acme.id,
            number=1001,
            contact_id=dup.id,
            subject="Broken router",
            status="open",
            created_at=t(11, 8),
            updated_at=t(11, 9),
            assignee_agent_id=luigi.id,
        )
        s.add(ticket)
        await s.flush()
        mail = m.Interaction(
            tenant_id=acme.id,
            channel="mail",
            contact_id=dup.id,
            ticket_id=ticket.id,
            from_address="anna@example.com",
            to_address="support@acme.example",
            offered_at=t(11, 8),
        )
        s.add(mail)
        await s.flush()
        s.add_all(
            [
                m.TicketMessage(
                    tenant_id=acme.id, ticket_id=ticket.id, interaction_id=mail.id, kind="inbound", created_at=t(11, 8)
                ),
                m.TicketMessage(tenant_id=acme.id, ticket_id=ticket.id, kind="outbound", created_at=t(11, 9)),
            ]
        )
        callback = m.Callback(
            tenant_id=acme.id,
            number="+393331112222",
            contact_id=dup.id,
            queue_id=queue.id,
            requested_at=t(12, 10),
            status="pending",
        )
        unknown = m.Interaction(
            tenant_id=acme.id,
            channel="voice",
            from_address=UNKNOWN,
            offered_at=t(12, 11),
            ended_at=t(12, 11, 1),
            outcome="abandoned-in-ivr",
        )
        # the other tenant: same number, never visible to acme
        theirs = m.Interaction(
            tenant_id=globex.id, channel="voice", contact_id=other.id, from_address=PHONE, offered_at=t(10, 12)
        )
        s.add_all([callback, unknown, theirs])
        await s.commit()
        return Seeded(acme.id, globex.id, anna.id, dup.id, other.id, calls, mail.id, ticket.id, callback.id, unknown.id)
