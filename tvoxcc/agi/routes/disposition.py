"""*76<code>: the agent gives the contact just ended (in wrap-up) a disposition, from the phone.

The dialplan (tvoxcc-agi) passes ``tenant, agent, code`` from the caller's own endpoint, so an agent can only
dispose their own contact. tvoxcc.dispositions.store decides and stores; an unknown code (or no contact) is
refused with a prompt and TVOXCC_DISPOSITION_RESULT=refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from tvoxcc.agi.request import AgiRequest
from tvoxcc.agi.routes.agent import PAUSED, REFUSED
from tvoxcc.agi.server import Handler
from tvoxcc.dispositions.core import DispositionError, Refused
from tvoxcc.dispositions.store import set_disposition
from tvoxcc.store.engine import Store
from tvoxcc.store.types import utcnow

log = logging.getLogger(__name__)
DISPOSED = PAUSED  # "thank you": the same short confirmation as a pause


def disposition_routes(store: Store, clock: Callable[[], datetime] = utcnow) -> dict[str, Handler]:
    async def disposition(request: AgiRequest) -> None:
        tenant, agent, code = (*request.args, "", "", "")[:3]
        try:
            if not tenant or not agent:
                why = f"no tenant/agent on channel {request.channel} (not an agent phone?)"
                raise DispositionError(Refused.UNKNOWN_AGENT, why)
            done = await set_disposition(store, tenant, agent, code, clock())
        except DispositionError as exc:
            log.info("disposition %r by %s/%s refused: %s", code, tenant, agent, exc)
            await request.set_variable("TVOXCC_DISPOSITION_RESULT", "refused")
            await request.stream_file(REFUSED)
            return
        log.info("disposition %s (%s) by %s/%s on %s %d", done.code, done.name, tenant, agent, done.target, done.row_id)
        await request.set_variable("TVOXCC_DISPOSITION_RESULT", "ok")
        await request.set_variable("TVOXCC_DISPOSITION", done.name)
        await request.stream_file(DISPOSED)

    return {"agent-disposition": disposition}
