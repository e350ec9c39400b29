"""FastAGI routes, one module per subject. `call_routes(store)` / `all_routes(store, acd)` map paths to handlers.

Every call route runs under a total deadline (`guarded`): a caller kept in prompts or a hung store ends
the request with one log line instead of holding a socket forever.
"""

from __future__ import annotations

from tvoxcc.agi.routes._common import guarded
from tvoxcc.agi.routes.agent import AgentControl, agent_routes
from tvoxcc.agi.routes.callback import callback_route
from tvoxcc.agi.routes.disposition import disposition_routes
from tvoxcc.agi.routes.lookup import lookup_route
from tvoxcc.agi.routes.route import route_route
from tvoxcc.agi.routes.standalone import NoAcd
from tvoxcc.agi.routes.store import CallStore
from tvoxcc.agi.routes.survey import survey_route
from tvoxcc.agi.server import Handler
from tvoxcc.store.engine import Store

# Seconds: route/lookup only read the store; survey and callback wait for a caller's keys (a few prompts).
DEADLINES = {"route": 10.0, "lookup": 10.0, "survey": 90.0, "callback": 120.0, "agent-disposition": 10.0}


def call_routes(store: Store) -> dict[str, Handler]:
    """route, lookup, survey, callback, agent-disposition: the routes that need only the store."""
    calls = CallStore(store)
    handlers = {
        **route_route(calls),
        **lookup_route(calls),
        **survey_route(calls),
        **callback_route(calls),
        **disposition_routes(store),  # a store matter: it works without the ACD in this process too
    }
    return {path: guarded(handler, DEADLINES[path]) for path, handler in handlers.items()}


def all_routes(store: Store, acd: AgentControl | None = None) -> dict[str, Handler]:
    """Every route; agent feature codes are refused politely when there is no ACD in this process."""
    return {**agent_routes(acd or NoAcd()), **call_routes(store)}
