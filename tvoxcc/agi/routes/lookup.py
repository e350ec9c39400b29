"""`lookup`: the caller's number -> the tenant's contact, so the agent's phone shows who is calling.

``AGI(agi://host/lookup[,TENANT[,NUMBER]])``; TENANT defaults to the channel's TVOXCC_TENANT (set by
`route` or tvoxcc-to-stasis), NUMBER to ``agi_callerid``. The number is matched in E.164 with the tenant's
country. A known caller gets CALLERID(name) = the contact's name, TVOXCC_CONTACT_ID, TVOXCC_VIP (0/1),
TVOXCC_OPEN_TICKETS and TVOXCC_LAST_AGENT (agent name of the contact's last answered call, or empty).
An unknown caller keeps its caller id and gets TVOXCC_CONTACT_ID empty, VIP 0, no tickets, no agent.
TVOXCC_CALLER is the number in E.164 (empty if it is not a phone number); TVOXCC_LOOKUP is
``known``, ``unknown`` or ``error`` (no tenant, or an unknown one).
"""

from __future__ import annotations

from tvoxcc.agi.request import AgiRequest
from tvoxcc.agi.routes._common import RouteInputError, arg, name_or_fail, number_or_none, shown
from tvoxcc.agi.routes.store import CallStore, ContactInfo
from tvoxcc.agi.server import Handler
from tvoxcc.journey.phones import to_e164

MAX_NAME = 80


def display_name(name: str) -> str:
    """A contact name fit for CALLERID(name): one line of printable text, bounded (phones truncate anyway)."""
    return "".join(ch if ch.isprintable() else " " for ch in name).strip()[:MAX_NAME]


async def _publish(request: AgiRequest, caller: str, contact: ContactInfo | None) -> None:
    await request.set_variable("TVOXCC_CALLER", caller)
    if contact is None:
        values = {"TVOXCC_CONTACT_ID": "", "TVOXCC_VIP": "0", "TVOXCC_OPEN_TICKETS": "0", "TVOXCC_LAST_AGENT": ""}
    else:
        name = display_name(contact.name)
        if name:
            await request.set_variable("CALLERID(name)", name)
        values = {
            "TVOXCC_CONTACT_ID": str(contact.id),
            "TVOXCC_VIP": "1" if contact.vip else "0",
            "TVOXCC_OPEN_TICKETS": str(contact.open_tickets),
            "TVOXCC_LAST_AGENT": contact.last_agent,
        }
    for key, value in values.items():
        await request.set_variable(key, value)
    await request.set_variable("TVOXCC_LOOKUP", "unknown" if contact is None else "known")


def lookup_route(calls: CallStore) -> dict[str, Handler]:
    async def lookup(request: AgiRequest) -> None:
        tenant_name = arg(request, 0) or (await request.get_variable("TVOXCC_TENANT") or "")
        try:
            tenant = await calls.tenant(name_or_fail(tenant_name, "tenant"))
            if tenant is None:
                raise RouteInputError(f"unknown tenant {shown(tenant_name)}")
        except RouteInputError:
            await request.set_variable("TVOXCC_LOOKUP", "error")
            raise
        raw = number_or_none(arg(request, 1) or request.callerid)
        caller = to_e164(raw, tenant.country) if raw else None
        contact = await calls.contact(tenant, caller) if caller else None
        await _publish(request, caller or "", contact)

    return {"lookup": lookup}
