"""`callback`: a caller leaves a number to be called back, from plain dialplan.

``AGI(agi://host/callback,TENANT,SERVICE[,QUEUE])``; without QUEUE, the service's only queue (a service with
several must name one). The caller types the number and ``#`` (``#`` alone or no digits means "this number":
the caller id); it is said back, ``1`` confirms, anything else (or nothing) lets the caller type it again,
once. The number must be a phone number in the tenant's country (stored in E.164). A pending ``Callback`` is
stored for the tenant's service and queue (the ACD dials it from there), linked to the caller's contact and
to the interaction of this channel when they are known.
TVOXCC_CALLBACK is ``stored`` (TVOXCC_CALLBACK_ID set), ``failed`` (two bad tries) or ``error`` (bad args).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from tvoxcc.agi.request import AgiRequest
from tvoxcc.agi.routes._common import RouteInputError, arg, name_or_fail, number_or_none
from tvoxcc.agi.routes.store import CallbackTarget, CallStore
from tvoxcc.agi.server import Handler
from tvoxcc.journey.phones import to_e164
from tvoxcc.store.types import utcnow

log = logging.getLogger(__name__)

ENTER = "vm-enter-num-to-call&vm-then-pound"
CONFIRM = "if-correct-press&digits/1"
ENTRY_TIMEOUT_MS = 7000
MAX_DIGITS = 20


async def _target(request: AgiRequest, calls: CallStore) -> CallbackTarget:
    tenant, service, queue = arg(request, 0), arg(request, 1), arg(request, 2)
    name_or_fail(tenant, "tenant")
    name_or_fail(service, "service")
    if queue:
        name_or_fail(queue, "queue")
    target = await calls.callback_target(tenant, service, queue)
    if isinstance(target, str):
        raise RouteInputError(target)
    return target


async def collect(request: AgiRequest, country: str) -> str | None:
    """Two tries at a number the caller confirms; returns it in E.164."""
    for _ in range(2):
        typed = await request.get_data(ENTER, ENTRY_TIMEOUT_MS, MAX_DIGITS)
        # No digits (``#`` alone, or silence) means "call me back on this line".
        digits = typed if typed else (number_or_none(request.callerid) or "")
        number = to_e164(digits, country) if digits.lstrip("+").isdigit() else None
        if number is None:
            await request.stream_file("invalid")
            continue
        await request.stream_file("you-entered")
        await request.say_digits(digits.lstrip("+"))
        if await request.get_data(CONFIRM, 5000, 1) == "1":
            return number
    return None


def callback_route(calls: CallStore, clock: Callable[[], datetime] = utcnow) -> dict[str, Handler]:
    async def callback(request: AgiRequest) -> None:
        try:
            target = await _target(request, calls)
        except RouteInputError:
            await request.set_variable("TVOXCC_CALLBACK", "error")
            raise
        await request.answer()
        number = await collect(request, target.tenant.country)
        if number is None:
            log.info("callback: no confirmed number on %s", request.channel)
            await request.set_variable("TVOXCC_CALLBACK", "failed")
            await request.stream_file("goodbye")
            return
        callback_id = await calls.save_callback(target, number, request.uniqueid, clock())
        await request.set_variable("TVOXCC_CALLBACK_ID", str(callback_id))
        await request.set_variable("TVOXCC_CALLBACK", "stored")
        await request.stream_file("auth-thankyou")

    return {"callback": callback}
