"""FastAGI adapter: an asyncio server fixing panoramisk 1.4's FastAGI faults (see ``server``)."""

from tvoxcc.agi.errors import AgiCommandError, AgiError, AgiHangup, AgiProtocolError, AgiTimeout
from tvoxcc.agi.protocol import AgiResponse
from tvoxcc.agi.request import AgiRequest
from tvoxcc.agi.server import AgiServer, Handler, build_server, ping, serve

__all__ = [
    "AgiCommandError",
    "AgiError",
    "AgiHangup",
    "AgiProtocolError",
    "AgiRequest",
    "AgiResponse",
    "AgiServer",
    "AgiTimeout",
    "Handler",
    "build_server",
    "ping",
    "serve",
]
