"""AGI errors: each ends one request cleanly; none ever stops the server."""

from __future__ import annotations


class AgiError(Exception):
    """Base class for everything that can end an AGI request."""


class AgiHangup(AgiError):
    """The channel hung up (``HANGUP``, ``511`` dead channel) or Asterisk closed the socket mid-command."""


class AgiTimeout(AgiError):
    """No reply to a command (or no complete header block) within the allotted time."""


class AgiProtocolError(AgiError):
    """The peer sent something that is not AGI (junk headers, a reply line we cannot parse)."""


class AgiCommandError(AgiError):
    """Asterisk rejected the command: ``510`` unknown command or ``520`` usage error."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(f"{code} {message}")
