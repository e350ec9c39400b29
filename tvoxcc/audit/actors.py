"""How an actor is named in the log."""

from __future__ import annotations

import getpass
import os


def cli_actor() -> str:
    """The person at the command line: $TVOXCC_ACTOR when a wrapper sets it (an admin tool), else the user who
    ran sudo ($SUDO_USER), else the login name of the process."""
    named = os.environ.get("TVOXCC_ACTOR") or os.environ.get("SUDO_USER")
    if named:
        return f"cli:{named}"
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def web_actor(username: str) -> str:
    return f"web:{username}"


def phone_actor(name: str) -> str:
    """Someone acting from their phone (a supervisor's feature code): their user name, else the phone's."""
    return f"phone:{name}"
