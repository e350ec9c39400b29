"""The store side of config rendering: every agent phone and every DID, across tenants."""

from __future__ import annotations

from sqlalchemy import select

from tvoxcc.asterisk.inputs import AgentPhone, Did, RenderInput, Trunk
from tvoxcc.config import Settings
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


async def render_input_from_store(settings: Settings, *, caller_endpoint: str | None = "caller") -> RenderInput:
    store = Store.from_url(settings.database.url.get_secret_value())
    try:
        async with store.session() as session:
            agents = await session.execute(
                select(m.Tenant.name, m.Agent).join(m.Tenant, m.Tenant.id == m.Agent.tenant_id)
            )
            dids = await session.execute(
                select(m.Did.number, m.Tenant.name, m.Service.name)
                .join(m.Tenant, m.Tenant.id == m.Did.tenant_id)
                .join(m.Service, m.Service.id == m.Did.service_id)
            )
            phones = tuple(
                AgentPhone(tenant, a.name, a.extension, a.sip_password, a.display_name) for tenant, a in agents.all()
            )
            numbers = tuple(Did(number, tenant, service) for number, tenant, service in dids.all())
            outbound = await session.execute(
                select(m.Tenant.name, m.Tenant.outbound).where(m.Tenant.outbound.is_not(None))
            )
            routes = [(tenant, o) for tenant, o in outbound.all() if o]
            trunks = tuple(
                Trunk(tenant, o["trunk"]["name"], o["trunk"]["host"], o["trunk"].get("port", 5060))
                for tenant, o in routes
                if o.get("trunk")
            )
            prefixes = tuple((tenant, str(o["agent_prefix"])) for tenant, o in routes if o.get("agent_prefix"))
    finally:
        await store.dispose()
    return RenderInput.from_settings(
        settings, phones, numbers, caller_endpoint=caller_endpoint, trunks=trunks, dial_prefixes=prefixes
    )
