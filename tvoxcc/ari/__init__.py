"""ARI adapter: a small typed client on aiohttp (REST + events websocket with reconnect).

Why our own: aioari is abandoned, does not URL-encode the websocket password and never reconnects;
ari-py is Python 2 only.
"""

from tvoxcc.ari.client import AriClient
from tvoxcc.ari.errors import (
    AriAuthError,
    AriBadRequest,
    AriError,
    AriServerError,
    AriUnavailable,
    ChannelGone,
    Conflict,
    InvalidRequest,
    NotFound,
    PreconditionFailed,
)
from tvoxcc.ari.events import AriEvent, Connected, Disconnected, StreamItem, parse_event
from tvoxcc.ari.websocket import AriEvents
from tvoxcc.backoff import Backoff

__all__ = [
    "AriAuthError",
    "AriBadRequest",
    "AriClient",
    "AriError",
    "AriEvent",
    "AriEvents",
    "AriServerError",
    "AriUnavailable",
    "Backoff",
    "ChannelGone",
    "Conflict",
    "Connected",
    "Disconnected",
    "InvalidRequest",
    "NotFound",
    "PreconditionFailed",
    "StreamItem",
    "parse_event",
]
