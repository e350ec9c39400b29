"""`route`: DID -> tenant/service, for admins who route calls with their own dialplan.

``AGI(agi://host/route[,DID])``; without the argument the DID is ``agi_dnid``, then ``agi_extension``.
Sets (inherited by the channels the call creates, hence the ``__`` prefix) TVOXCC_TENANT, TVOXCC_SERVICE,
TVOXCC_LANGUAGE (the service's, else the tenant's) and TVOXCC_PRIORITY (the service's); TVOXCC_ROUTE is
``ok``, ``unknown`` (no such DID: the others are set empty) or ``error`` (no usable DID in the request).
"""

from __future__ import annotations

import logging

from tvoxcc.agi.request import AgiRequest
from tvoxcc.agi.routes._common import RouteInputError, arg, number_or_none, shown
from tvoxcc.agi.routes.store import CallStore
from tvoxcc.agi.server import Handler

log = logging.getLogger(__name__)

VARIABLES = ("TVOXCC_TENANT", "TVOXCC_SERVICE", "TVOXCC_LANGUAGE", "TVOXCC_PRIORITY")


def did_of(request: AgiRequest) -> str | None:
    for candidate in (arg(request, 0), request.headers.get("agi_dnid", ""), request.extension):
        number = number_or_none(candidate)
        if number is not None:
            return number
    return None


async def _set_all(request: AgiRequest, values: tuple[str, str, str, str], status: str) -> None:
    for name, value in zip(VARIABLES, values, strict=True):
        await request.set_variable(f"__{name}", value)
    await request.set_variable("TVOXCC_ROUTE", status)


def route_route(calls: CallStore) -> dict[str, Handler]:
    async def route(request: AgiRequest) -> None:
        did = did_of(request)
        if did is None:
            await _set_all(request, ("", "", "", ""), "error")
            raise RouteInputError(f"no DID in args, agi_dnid or agi_extension {shown(request.extension)}")
        found = await calls.did_route(did)
        if found is None:
            log.info("route: unknown DID %s on %s", shown(did), request.channel)
            await _set_all(request, ("", "", "", ""), "unknown")
            return
        await _set_all(request, (found.tenant, found.service, found.language, str(found.priority)), "ok")

    return {"route": route}
