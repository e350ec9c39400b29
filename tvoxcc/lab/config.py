"""A tvoxcc config for a lab: free loopback ports, fresh secrets, SQLite next to it (tests and the demo)."""

from __future__ import annotations

import os
import random
import secrets
import socket
from pathlib import Path


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_lab_config(base: Path, state_dir: Path, cache_dir: Path) -> Path:
    """Write ``base/tvoxcc.toml`` (mode 0600) for a lab whose state lives in ``state_dir``."""
    # RTP below the ephemeral range, in a random block: parallel labs rarely share one.
    rtp_start = random.randrange(20000, 30000, 200)
    config = base / "tvoxcc.toml"
    text = f"""data_dir = "{base / "data"}"

[database]
url = "sqlite:///{base / "tvoxcc.db"}"

[asterisk]
ari_url = "http://127.0.0.1:{free_port()}"
ari_user = "tvoxcc"
ari_password = "{secrets.token_hex(12)}"
ari_app = "tvoxcc"
ami_host = "127.0.0.1"
ami_port = {free_port()}
ami_user = "tvoxcc"
ami_secret = "{secrets.token_hex(12)}"
sip_host = "127.0.0.1"
sip_port = {free_port(socket.SOCK_DGRAM)}
rtp_start = {rtp_start}
rtp_end = {rtp_start + 199}
config_dir = "{state_dir / "root/etc/asterisk"}"
sounds_dir = "{state_dir / "root/usr/share/asterisk/sounds"}"
recordings_dir = "{state_dir / "root/var/spool/asterisk/recording"}"

[agi]
host = "127.0.0.1"
port = {free_port()}

[lab]
cache_dir = "{cache_dir}"
"""
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return config
