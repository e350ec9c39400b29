"""The shared store on SQLite and on a real PostgreSQL: migrations, UTC times, tenant isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from tvoxcc.store.engine import Store
from tvoxcc.store.migrate import current_revision, head_revision
from tvoxcc.store.models import (
    Agent,
    Contact,
    ContactPhone,
    Interaction,
    NpsAnswer,
    Service,
    Tenant,
    User,
)
from tvoxcc.store.tenancy import TenantViolation


async def test_migrations_bring_an_empty_database_to_head(migrated_url: str) -> None:
    assert await current_revision(migrated_url) == head_revision()


async def _two_tenants(store: Store) -> tuple[int, int]:
    async with store.session() as s:
        a, b = Tenant(name="acme"), Tenant(name="globex")
        s.add_all([a, b])
        await s.flush()
        for tenant, number in ((a, "+390211111111"), (b, "+390222222222")):
            contact = Contact(tenant_id=tenant.id, display_name=f"{tenant.name} customer")
            contact.phones.append(ContactPhone(tenant_id=tenant.id, number=number))
            s.add(contact)
            s.add(Service(tenant_id=tenant.id, name="sales", channels=["voice"]))
            s.add(User(tenant_id=tenant.id, username=f"{tenant.name}-sup", role="supervisor"))
        await s.commit()
        return a.id, b.id


async def test_timestamps_come_back_as_aware_utc(store: Store) -> None:
    rome = timezone(timedelta(hours=1))
    offered = datetime(2026, 3, 1, 23, 30, tzinfo=rome)
    async with store.session() as s:
        tenant = Tenant(name="acme")
        s.add(tenant)
        await s.flush()
        s.add(Interaction(tenant_id=tenant.id, channel="voice", offered_at=offered))
        await s.commit()
    async with store.session() as s:
        got = (await s.execute(select(Interaction.offered_at))).scalar_one()
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)
    assert got == datetime(2026, 3, 1, 22, 30, tzinfo=UTC)


async def test_naive_datetimes_are_refused(store: Store) -> None:
    async with store.session() as s:
        tenant = Tenant(name="acme")
        s.add(tenant)
        await s.flush()
        s.add(Interaction(tenant_id=tenant.id, channel="voice", offered_at=datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive datetime"):
            await s.flush()


async def test_tenant_session_never_returns_another_tenants_rows(store: Store) -> None:
    a_id, b_id = await _two_tenants(store)
    async with store.tenant(a_id) as s:
        # Even a query that names the other tenant explicitly gets nothing back.
        assert (await s.execute(select(Contact).where(Contact.tenant_id == b_id))).all() == []
        names = (await s.execute(select(Contact.display_name))).scalars().all()
        assert names == ["acme customer"]
        # Joins and relationship loads are filtered too.
        joined = await s.execute(select(ContactPhone.number).join(Contact))
        assert joined.scalars().all() == ["+390211111111"]
        assert (await s.execute(select(func.count()).select_from(Service))).scalar_one() == 1
        assert (await s.execute(select(User.username))).scalars().all() == ["acme-sup"]
        assert (await s.execute(select(Tenant.name))).scalars().all() == ["acme"]


async def test_tenant_session_cannot_update_or_delete_another_tenants_rows(store: Store) -> None:
    a_id, b_id = await _two_tenants(store)
    async with store.tenant(a_id) as s:
        await s.execute(update(Contact).values(display_name="hijacked"))
        await s.execute(delete(ContactPhone).where(ContactPhone.tenant_id == b_id))
        await s.commit()
    async with store.session() as s:
        rows = dict((await s.execute(select(Contact.tenant_id, Contact.display_name))).all())
        phones = (await s.execute(select(func.count()).select_from(ContactPhone))).scalar_one()
    assert rows == {a_id: "hijacked", b_id: "globex customer"}
    assert phones == 2


async def test_tenant_session_stamps_new_rows_and_refuses_foreign_ones(store: Store) -> None:
    a_id, b_id = await _two_tenants(store)
    async with store.tenant(a_id) as s:
        contact = Contact(display_name="walk-in")
        s.add(contact)
        await s.flush()
        assert contact.tenant_id == a_id
        s.add(Contact(tenant_id=b_id, display_name="smuggled"))
        with pytest.raises(TenantViolation):
            await s.flush()


async def test_constraints_hold_on_both_backends(store: Store) -> None:
    a_id, _ = await _two_tenants(store)
    async with store.session() as s:
        s.add(Agent(tenant_id=a_id, name="mario", extension="201", sip_password="x"))
        s.add(Agent(tenant_id=a_id, name="luigi", extension="201", sip_password="y"))
        with pytest.raises(IntegrityError):
            await s.commit()
    async with store.session() as s:
        s.add(NpsAnswer(tenant_id=a_id, score=11))
        with pytest.raises(IntegrityError):
            await s.commit()
    async with store.session() as s:
        s.add(Service(tenant_id=999_999, name="orphan"))
        with pytest.raises(IntegrityError):  # foreign keys are enforced on SQLite too
            await s.commit()
