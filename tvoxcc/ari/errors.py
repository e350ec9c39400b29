"""ARI errors: one exception class per HTTP outcome, so callers catch what they mean.

Asterisk answers ARI failures with a status code and a JSON body ``{"message": "..."}``;
``error_for_status`` maps both into the classes below. The message never carries credentials
(Asterisk does not echo them), and we never add the request's auth header to it.
"""

from __future__ import annotations


class AriError(Exception):
    """Base class: ``status`` is the HTTP status (0 when no response), ``method``/``path`` say where."""

    def __init__(self, message: str, *, status: int = 0, method: str = "", path: str = "") -> None:
        self.status = status
        self.method = method
        self.path = path
        self.message = message
        where = f"{method} {path}: " if method else ""
        code = f"{status} " if status else ""
        super().__init__(f"ARI {where}{code}{message}".rstrip())


class AriUnavailable(AriError):
    """Asterisk's HTTP server cannot be reached (refused, reset, DNS, timeout)."""


class AriAuthError(AriError):
    """401/403: wrong ARI user or password (check ari.conf and settings.asterisk)."""


class AriBadRequest(AriError):
    """400: a missing or malformed parameter."""


class NotFound(AriError):
    """404: the resource does not exist (any kind)."""


class ChannelGone(NotFound):
    """404 on a /channels/... path: the channel hung up or never existed."""


class Conflict(AriError):
    """409: e.g. the channel is not in our Stasis application, or an id is already in use."""


class PreconditionFailed(AriError):
    """412: the channel or bridge is in a state that does not allow the operation."""


class InvalidRequest(AriError):
    """422: Asterisk understood the request but cannot process it (e.g. unknown endpoint)."""


class AriServerError(AriError):
    """5xx: Asterisk failed internally."""


_BY_STATUS: dict[int, type[AriError]] = {
    400: AriBadRequest,
    401: AriAuthError,
    403: AriAuthError,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    422: InvalidRequest,
}


def error_for_status(status: int, message: str, *, method: str, path: str) -> AriError:
    """The exception for a non-2xx ARI response."""
    cls: type[AriError]
    if status == 404 and path.startswith("/channels/"):
        cls = ChannelGone
    elif status >= 500:
        cls = AriServerError
    else:
        cls = _BY_STATUS.get(status, AriError)
    return cls(message or "error", status=status, method=method, path=path)
