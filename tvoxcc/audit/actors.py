"""How an actor is named in the log."""

from __future__ import annotations

import getpass
import os


def cli_actor() -> str:
    """The person at the command line: $TVOXCC_ACTOR when a wrapper sets it (sudo, an admin tool), else the
    login name of the process."""
    named = os.environ.get("TVOXCC_ACTOR")
    if named:
        return f"cli:{named}"
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def web_actor(username: str) -> str:
    return f"web:{username}"
