"""Whether an error means the store went away (its server killed, a failover under way, the network cut).

A long-running service that sees one drops what it holds in memory, waits and reconnects: with a multi-host URL
it reaches the promoted primary. Every other error — a constraint, a bad query, a file the work could not write —
is a bug or a fault of its own and must surface, not turn the instance into a silent standby that retries forever.

SQLAlchemy wraps the driver's errors in DBAPIError and marks those it knows as disconnects
(``connection_invalidated``); a connection that cannot even be opened surfaces as the socket's own OSError, on
its own (asyncpg used directly, as LISTEN does) or as the cause of a DBAPIError.
"""

from __future__ import annotations

import errno
import socket

from sqlalchemy.exc import DBAPIError

# SQLSTATEs of a server that is gone or going: class 08 (connection exception), 57P01-57P03 (admin/crash
# shutdown, "cannot connect now" while starting or promoting), 25006 (a write reached a standby: the old primary
# came back read-only, or the URL still points at the demoted side).
_LOST_SQLSTATE_PREFIXES = ("08",)
_LOST_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "25006"})

_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.EHOSTDOWN,
        errno.ENOTCONN,
        errno.EADDRNOTAVAIL,
    }
)

# asyncpg's errors for a connection that closed under it carry no SQLSTATE.
_LOST_DRIVER_ERRORS = frozenset({"ConnectionDoesNotExistError"})


def _lost_socket(error: OSError) -> bool:
    if isinstance(error, (ConnectionError, TimeoutError, socket.gaierror, socket.herror)):
        return True
    if error.errno in _NETWORK_ERRNOS:
        return True
    # asyncio's create_connection folds the failures of several addresses into one errno-less OSError.
    return error.errno is None and str(error).startswith("Multiple exceptions:")


def _lost_one(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, OSError):
        return _lost_socket(error)
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(_LOST_SQLSTATE_PREFIXES) or sqlstate in _LOST_SQLSTATES
    if type(error).__name__ in _LOST_DRIVER_ERRORS:
        return True
    return type(error).__name__ == "InterfaceError" and "connection is closed" in str(error)


def is_database_lost(error: BaseException) -> bool:
    """True when ``error`` or what it wraps (DBAPIError.orig, ``raise … from``) says the server is unreachable."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _lost_one(current):
            return True
        orig = current.orig if isinstance(current, DBAPIError) else None
        pending.extend((orig, current.__cause__))
    return False
