"""The systemd units of each host role, as text (no I/O): `tvoxcc systemd render --role main|support|db`.

main     voice (Stasis app + FastAGI + the ACD), web (wallboard/API), insight; Asterisk and Kamailio are
         Debian's own units, which the voice service comes up after.
support  the Support service (mailboxes, tickets).
db       the schema migration, once PostgreSQL (Debian's unit) is up; the services on the other hosts wait for
         the database by retrying (Restart=always), since systemd cannot order units across hosts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

DEFAULT_BIN = PurePosixPath("/opt/tvoxcc/.venv/bin/tvoxcc")
DEFAULT_CONFIG = PurePosixPath("/etc/tvoxcc/tvoxcc.toml")
USER = "tvoxcc"


class HostRole(StrEnum):
    MAIN = "main"
    SUPPORT = "support"
    DB = "db"


@dataclass(frozen=True)
class Unit:
    name: str  # file name, e.g. tvoxcc-voice.service
    description: str
    command: str  # the tvoxcc sub-command
    after: tuple[str, ...] = ()
    wants: tuple[str, ...] = ()
    oneshot: bool = False


_NETWORK = ("network-online.target",)
ROLE_UNITS: dict[HostRole, tuple[Unit, ...]] = {
    HostRole.MAIN: (
        Unit(
            "tvoxcc-voice.service",
            "tvoxcc voice: Stasis app, FastAGI and the ACD (standby while another main holds the lease)",
            "voice run",
            after=(*_NETWORK, "asterisk.service", "kamailio.service", "postgresql.service"),
            wants=(*_NETWORK, "asterisk.service"),
        ),
        Unit(
            "tvoxcc-web.service",
            "tvoxcc web: wallboard and API",
            "web run",
            after=(*_NETWORK, "postgresql.service"),
            wants=_NETWORK,
        ),
        Unit(
            "tvoxcc-insight.service",
            "tvoxcc insight: 15-minute statistics",
            "insight run",
            after=(*_NETWORK, "postgresql.service"),
            wants=_NETWORK,
        ),
    ),
    HostRole.SUPPORT: (
        Unit(
            "tvoxcc-support.service",
            "tvoxcc support: mailboxes in, tickets routed, replies out",
            "support run",
            after=(*_NETWORK, "postgresql.service", "dovecot.service"),
            wants=_NETWORK,
        ),
    ),
    HostRole.DB: (
        Unit(
            "tvoxcc-migrate.service",
            "tvoxcc: bring the store's schema up to date once PostgreSQL runs",
            "db upgrade",
            after=("postgresql.service",),
            wants=("postgresql.service",),
            oneshot=True,
        ),
    ),
}


def render_unit(unit: Unit, tvoxcc_bin: PurePosixPath, config: PurePosixPath) -> str:
    lines = ["# Rendered by `tvoxcc systemd render`: edit with `systemctl edit`, not here.", "[Unit]"]
    lines.append(f"Description={unit.description}")
    if unit.after:
        lines.append(f"After={' '.join(unit.after)}")
    if unit.wants:
        lines.append(f"Wants={' '.join(unit.wants)}")
    lines += ["", "[Service]"]
    if unit.oneshot:
        # systemd refuses Restart=always for a oneshot: retry a failed migration (database not up yet) instead.
        lines += ["Type=oneshot", "RemainAfterExit=yes", "Restart=on-failure", "RestartSec=5"]
    else:
        lines += ["Type=exec", "Restart=always", "RestartSec=2", "KillSignal=SIGTERM", "TimeoutStopSec=20"]
    lines += [
        f"User={USER}",
        f"Group={USER}",
        f"Environment=TVOXCC_CONFIG={config}",
        f"ExecStart={tvoxcc_bin} {unit.command}",
        "StateDirectory=tvoxcc",
        "NoNewPrivileges=yes",
        "ProtectSystem=full",
        "PrivateTmp=yes",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)


def render_role(
    role: HostRole, tvoxcc_bin: PurePosixPath = DEFAULT_BIN, config: PurePosixPath = DEFAULT_CONFIG
) -> dict[str, str]:
    """File name -> unit text for every unit of ``role``."""
    return {unit.name: render_unit(unit, tvoxcc_bin, config) for unit in ROLE_UNITS[role]}
