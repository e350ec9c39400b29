"""Tell a running Asterisk to pick up freshly rendered configs, module by module.

Targeted reloads instead of `core reload`: the HTTP server (and with it tvoxcc's ARI websocket) is left
alone, and a reload never touches modules tvoxcc does not render for.
"""

from __future__ import annotations

from tvoxcc.asterisk.ami_command import AmiCommandClient
from tvoxcc.config import AsteriskSettings

RELOAD_COMMANDS = (
    "module reload res_pjsip.so",
    "dialplan reload",
    "module reload res_ari.so",
    "module reload res_rtp_asterisk.so",
    "module reload res_musiconhold.so",
    "manager reload",
)


def reload_asterisk(asterisk: AsteriskSettings, timeout: float = 10.0) -> list[str]:
    """Run the reloads over AMI; returns Asterisk's output per command. Raises AmiError."""
    client = AmiCommandClient.from_settings(asterisk)
    client.timeout = timeout
    return client.run(*RELOAD_COMMANDS)
