"""A service's business hours, set with the CLI, are what the stored tickets' SLA clocks run in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.cli import Tvox
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.support import desk
from tvoxcc.support.sla_store import sla_by_ticket, targets_by_service


@pytest.fixture
def acme(tvox_any: Tvox, db_url: str) -> str:
    tvox_any.ok("tenant", "add", "acme", "--timezone", "Europe/Rome")
    tvox_any.ok("service", "add", "-t", "acme", "support", "--first-response-minutes", "120")
    tvox_any.ok("service", "add", "-t", "acme", "night", "--first-response-minutes", "120")  # around the clock
    tvox_any.ok(
        "service", "set", "-t", "acme", "support", "--business-hours", "mon-fri 09:00-18:00", "--holiday", "2026-12-07"
    )
    bad = tvox_any.fails("service", "set", "-t", "acme", "support", "--business-hours", "mon-fri 9-18")
    assert "expected HH:MM-HH:MM" in bad  # and the stored hours stay
    return db_url


async def test_ticket_clocks_use_the_service_hours_in_the_tenant_timezone(acme: str) -> None:
    db_url = acme
    friday_five_pm = datetime(2026, 12, 4, 17, 0, tzinfo=ZoneInfo("Europe/Rome")).astimezone(UTC)
    store = Store.from_url(db_url)
    try:
        async with store.session() as session:
            tenant_id = (await session.execute(m.Tenant.__table__.select())).one().id
        async with store.tenant(tenant_id) as session:
            services = {s.name: s.id for s in (await session.execute(m.Service.__table__.select())).all()}
            targets = await targets_by_service(session)
            tickets = [
                m.Ticket(number=1000 + i, service_id=services[name], status="new", created_at=friday_five_pm)
                for i, name in enumerate(("support", "night"))
            ]
            session.add_all(tickets)
            await session.flush()
            slas = await sla_by_ticket(session, tickets, friday_five_pm)
            await session.commit()
            listed = {r["number"]: r for r in await desk.queue_rows(session, now=friday_five_pm)}
    finally:
        await store.dispose()
    hours = targets[services["support"]].hours
    assert hours is not None and hours.zone == ZoneInfo("Europe/Rome") and hours.holidays == {date(2026, 12, 7)}
    assert targets[services["night"]].hours is None
    support, night = (slas[t.id].first_response for t in tickets)
    assert support is not None and night is not None
    # 1 h left on Friday, Saturday and Sunday closed, Monday a holiday: due on Tuesday at 10:00 Rome.
    assert support.due == datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    assert night.due == datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
    # Listings show due times in the tenant's timezone, as the hours are written.
    assert (listed["T-1000"]["sla"], listed["T-1000"]["sla_due"]) == (
        "due 2026-12-08 10:00",
        "2026-12-08T10:00:00+01:00",
    )
