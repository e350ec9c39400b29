"""What a store that went away raises (its server killed, a failover under way, the network cut).

SQLAlchemy wraps the drivers' errors in DBAPIError (OperationalError, InterfaceError…); a connection that
cannot even be opened may surface as the socket's own OSError. A long-running service that catches these
drops what it holds in memory, waits and reconnects: with a multi-host URL it reaches the promoted primary.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

DATABASE_LOST: tuple[type[BaseException], ...] = (DBAPIError, OSError)
