"""The voice service's store side: routes, caller matching in E.164, the interaction log, resume points."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.cli import Tvox
from tvoxcc.ivr.commands import EnterQueue
from tvoxcc.journey.phones import to_e164
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.directory import Directory, QueuePoint, Route, UnknownRoute

FLOW = Path(__file__).parent / "data" / "sales-ivr.yaml"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("02 1234 5678", "IT", "+390212345678"),
        ("0039 02 1234 5678", "DE", "+390212345678"),
        ("+49 30 123456", "IT", "+4930123456"),
        ("3471234567", "IT", "+393471234567"),
        ("201", "IT", None),
        ("anonymous", "IT", None),
    ],
)
def test_phone_numbers_normalise_to_e164(raw: str, country: str, e164: str | None) -> None:
    assert to_e164(raw, country) == e164


@pytest.fixture
def acme_url(tvox: Tvox) -> str:
    tvox.ok("tenant", "add", "acme", "--timezone", "Europe/Rome", "--language", "it")
    tvox.ok("service", "add", "-t", "acme", "sales", "--did", "1000")
    tvox.ok("queue", "add", "-t", "acme", "sales-it", "--service", "sales")
    for name in ("welcome", "main-menu", "enter-code", "closed"):
        tvox.ok("prompts", "set", "-t", "acme", name, "--text", name)
    tvox.ok("ivr", "set", "acme", "sales", str(FLOW))
    return f"sqlite:///{tvox.config.parent / 'data' / 'tvoxcc.db'}"


@pytest.fixture
async def directory(acme_url: str) -> Directory:
    store = Store.from_url(acme_url)
    async with store.session() as s:
        tenant = (await s.execute(select(m.Tenant))).scalar_one()
        vip = m.Contact(tenant_id=tenant.id, display_name="Big Customer", vip=True, language="en")
        vip.phones.append(m.ContactPhone(tenant_id=tenant.id, number="+390212345678"))
        s.add(vip)
        await s.flush()
        s.add(m.Ticket(tenant_id=tenant.id, number=1, contact_id=vip.id, status="open"))
        s.add(m.Ticket(tenant_id=tenant.id, number=2, contact_id=vip.id, status="closed"))
        await s.commit()
    return Directory(store)


async def test_route_and_caller_identification(directory: Directory) -> None:
    route = await directory.route("acme", "sales")
    assert (route.tenant, route.service, route.timezone, route.language) == ("acme", "sales", "Europe/Rome", "it")
    assert route.flow is not None and route.flow.start == "hours"
    known = await directory.identify(route, "02 1234 5678")
    assert known.number == "+390212345678" and known.contact_id is not None
    assert (known.info.vip, known.info.known, known.info.open_tickets, known.info.language) == (True, True, 1, "en")
    stranger = await directory.identify(route, "caller")
    assert (stranger.number, stranger.contact_id, stranger.info.known, stranger.info.language) == (
        "caller", None, False, "it"
    )  # fmt: skip
    with pytest.raises(UnknownRoute):
        await directory.route("acme", "nope")


async def test_calls_arriving_together_share_one_route_load_and_an_unknown_route_fails_each(
    directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[tuple[str, str]] = []
    load = directory._load_route

    async def counted(tenant: str, service: str) -> Route:
        loads.append((tenant, service))
        await asyncio.sleep(0.05)  # the others arrive while it runs
        return await load(tenant, service)

    monkeypatch.setattr(directory, "_load_route", counted)
    routes = await asyncio.gather(*(directory.route("acme", "sales") for _ in range(20)))
    assert loads == [("acme", "sales")] and all(r is routes[0] for r in routes)
    assert await directory.route("acme", "sales") is routes[0]  # cached: no load
    directory.route_ttl = 0.0
    directory._routes.clear()
    missing = await asyncio.gather(*(directory.route("acme", "nope") for _ in range(3)), return_exceptions=True)
    assert all(isinstance(e, UnknownRoute) for e in missing) and loads.count(("acme", "nope")) == 1
    with pytest.raises(UnknownRoute):  # not remembered: the next call asks again (the service may be added)
        await directory.route("acme", "nope")
    assert loads.count(("acme", "nope")) == 2
    # Expired: the next call loads again.
    assert (await directory.route("acme", "sales")).service == "sales" and loads.count(("acme", "sales")) == 2


async def test_interaction_log_resume_and_queue_point(directory: Directory) -> None:
    route = await directory.route("acme", "sales")
    caller = await directory.identify(route, "+390212345678")
    first = await directory.open_interaction(route, caller, "1700000000.1", NOW)
    await directory.log(route, first, "queued", NOW, {"queue": "sales-it"})  # as stored by older versions
    stored = await directory.queued_in("1700000000.1")
    assert stored == QueuePoint("sales-it", 0, None, None)
    assert stored.command("it") == EnterQueue("sales-it", 0, (), (), "it")
    # What the IVR set and when the call queued travel with the stored point, so a restart queues it again
    # as it was, at its place.
    chosen = EnterQueue("sales-backup", 50, (("english", 5),), (("customer", "123"),), "en")
    point = QueuePoint.entering(chosen, 1700000010.5, 1700000013.25)
    await directory.log(route, first, "queued", NOW, point.data())
    stored = await directory.queued_in("1700000000.1")
    assert stored == point and stored.command("it") == chosen  # the last one: where it waits now
    again = await directory.open_interaction(route, caller, "1700000000.1", NOW, resumed=True)
    assert again.id == first.id is not None  # a resume, not a new one
    ticket = await directory.voicemail_ticket(route, first, caller.number, b"RIFF....WAVE", 7.0, NOW)
    await directory.request_callback(route, first, "sales-it", caller.number, NOW)
    await directory.close(route, first, NOW, "voicemail")
    assert await directory.queued_in("1700000000.1") is None  # ended calls are not resumed (queued_in flushes)
    async with directory.store.tenant(route.tenant_id) as s:
        interaction = (await s.execute(select(m.Interaction))).scalar_one()
        kinds = (await s.execute(select(m.InteractionEvent.kind).order_by(m.InteractionEvent.id))).scalars().all()
        attachment = (await s.execute(select(m.Attachment))).scalar_one()
        callback = (await s.execute(select(m.Callback))).scalar_one()
    assert (interaction.outcome, interaction.ended_at, interaction.from_address) == ("voicemail", NOW, "+390212345678")
    # Insight counts the request
    assert kinds == ["offered", "queued", "queued", "resumed", "callback-requested", "ended"]
    assert ticket == 3 and attachment.data == b"RIFF....WAVE" and attachment.content_type == "audio/wav"
    assert (callback.number, callback.status, callback.requested_by_id) == ("+390212345678", "pending", first.id)
    await directory.store.dispose()


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_caller_is_matched_in_their_tenant_only_and_to_a_merged_duplicates_survivor(store: Store) -> None:
    async with store.session() as s:
        acme, other = m.Tenant(name="acme", display_name="ACME"), m.Tenant(name="other", display_name="Other")
        s.add_all([acme, other])
        await s.flush()
        survivor = m.Contact(tenant_id=acme.id, display_name="Survivor", language="de", vip=True)
        s.add(survivor)
        await s.flush()
        duplicate = m.Contact(tenant_id=acme.id, display_name="Dup", merged_into_id=survivor.id)
        duplicate.phones.append(m.ContactPhone(tenant_id=acme.id, number="+390211111111"))
        stranger = m.Contact(tenant_id=other.id, display_name="Other's", vip=True)
        stranger.phones.append(m.ContactPhone(tenant_id=other.id, number="+390222222222"))
        s.add_all([duplicate, stranger])
        await s.flush()
        for n, (contact, status) in enumerate([(survivor, "open"), (survivor, "pending-customer"), (duplicate, "open"),
                                               (survivor, "solved"), (stranger, "open")]):  # fmt: skip
            s.add(m.Ticket(tenant_id=contact.tenant_id, number=n + 1, contact_id=contact.id, status=status))
        await s.commit()
        acme_id, survivor_id = acme.id, survivor.id
    route = Route("acme", acme_id, "sales", 0, "Europe/Rome", "IT", "it", None, {})
    caller = await Directory(store).identify(route, "02 1111 1111")
    assert (caller.contact_id, caller.info.known, caller.info.vip, caller.info.language) == (
        survivor_id,
        True,
        True,
        "de",
    )
    assert caller.info.open_tickets == 2  # the survivor's open ones, not the duplicate's nor the solved one
    elsewhere = await Directory(store).identify(route, "02 2222 2222")  # another tenant's contact: a stranger here
    assert (elsewhere.contact_id, elsewhere.info.known, elsewhere.info.vip, elsewhere.info.open_tickets) == (
        None, False, False, 0
    )  # fmt: skip
