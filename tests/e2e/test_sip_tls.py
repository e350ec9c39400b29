"""SIP over TLS and SRTP for the agents' phones ([asterisk] sip_tls, srtp), against the lab's Asterisk.

A small TLS SIP client (Python's ssl, verifying the lab's self-signed certificate) registers an agent with digest
auth over TLS, then receives the call Asterisk places to it on the same connection and reads its SDP offer.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket
import ssl
import subprocess
import urllib.parse
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.e2e.conftest import LabHandle
from tvoxcc.asterisk.inputs import TlsTransport
from tvoxcc.lab.config import free_port
from tvoxcc.lab.rootfs import asterisk_user

KEYS = "/etc/asterisk/keys"  # as Asterisk sees it, inside the lab root


class TlsPhone:
    """Just enough SIP over one TLS connection: send a request, read messages (Content-Length framed)."""

    def __init__(self, port: int, cafile: Path) -> None:
        context = ssl.create_default_context(cafile=str(cafile))
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
        self.local_port = self.sock.getsockname()[1]
        self.buffer = b""

    def send(self, text: str) -> None:
        self.sock.sendall(text.replace("\n", "\r\n").encode())

    def read(self) -> str:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(65536) or b""
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        length = int(match.group(1)) if match else 0
        while len(rest) < length:
            rest += self.sock.recv(65536)
        self.buffer = rest[length:]
        return (head + b"\r\n\r\n" + rest[:length]).decode()

    def read_until(self, start: str) -> str:
        for _ in range(20):
            message = self.read()
            if message.startswith(start):
                return message
        raise AssertionError(f"no {start!r} within 20 messages")

    def register(self, user: str, password: str, cseq: int, authorization: str = "") -> str:
        self.send(
            f"REGISTER sip:127.0.0.1 SIP/2.0\n"
            f"Via: SIP/2.0/TLS 127.0.0.1:{self.local_port};rport;branch=z9hG4bK{secrets.token_hex(8)}\n"
            f"From: <sip:{user}@127.0.0.1>;tag=tls{user}\nTo: <sip:{user}@127.0.0.1>\n"
            f"Call-ID: reg-{user}@tvoxcc\nCSeq: {cseq} REGISTER\n"
            f"Contact: <sip:{user}@127.0.0.1:{self.local_port};transport=tls>\nExpires: 120\nMax-Forwards: 70\n"
            f"{authorization}Content-Length: 0\n\n"
        )
        return self.read_until("SIP/2.0")


def digest(challenge: str, user: str, password: str, method: str, uri: str) -> str:
    fields = dict(re.findall(r'(\w+)="?([^",]+)"?', challenge.split("Digest", 1)[1].splitlines()[0]))
    ha1 = hashlib.md5(f"{user}:{fields['realm']}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    cnonce, nc = secrets.token_hex(8), "00000001"
    response = hashlib.md5(f"{ha1}:{fields['nonce']}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()
    return (
        f'Authorization: Digest username="{user}", realm="{fields["realm"]}", nonce="{fields["nonce"]}", '
        f'uri="{uri}", response="{response}", algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"\n'
    )


@pytest.fixture(scope="module")
def tls_lab(lab: LabHandle) -> Iterator[tuple[LabHandle, int, Path]]:
    """The lab restarted with TLS + SRTP (PJSIP transports do not reload), then restarted as it was."""
    keys = lab.lab.root / KEYS.lstrip("/")
    keys.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(keys / "tvoxcc.key"), "-out", str(keys / "tvoxcc.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    user = asterisk_user(lab.lab.root)
    for name in ("tvoxcc.key", "tvoxcc.crt"):
        os.chown(keys / name, 0, user.gid)
        (keys / name).chmod(0o640)
    original = lab.current
    assert original is not None
    port = free_port()
    tls = TlsTransport(port, f"{KEYS}/tvoxcc.crt", f"{KEYS}/tvoxcc.key")
    lab.down()
    lab.current = replace(original, sip_tls=tls, srtp=True)
    try:
        lab.up()
        yield lab, port, keys / "tvoxcc.crt"
    finally:
        lab.down()
        lab.current = original
        lab.up()


def test_an_agent_registers_over_tls_and_is_offered_srtp(tls_lab: tuple[LabHandle, int, Path]) -> None:
    lab, port, cafile = tls_lab
    agent = lab.agents[0]
    phone = TlsPhone(port, cafile)  # verifies the certificate: a wrong one fails here
    challenge = phone.register(agent.endpoint, agent.password, 1)
    assert challenge.startswith("SIP/2.0 401"), challenge
    auth = digest(challenge, agent.endpoint, agent.password, "REGISTER", "sip:127.0.0.1")
    ok = phone.register(agent.endpoint, agent.password, 2, auth)
    assert ok.startswith("SIP/2.0 200"), ok
    query = urllib.parse.urlencode(
        {"endpoint": f"PJSIP/{agent.endpoint}", "extension": "5559999", "context": "tvoxcc-inbound"}
    )
    channel = lab.ari(f"channels?{query}", "POST")
    try:
        invite = phone.read_until("INVITE ")
        assert "RTP/SAVP" in invite and "a=crypto:" in invite, invite  # SDES-SRTP offered, no plain RTP
        assert "Via: SIP/2.0/TLS" in invite, invite
    finally:
        lab.ari(f"channels/{channel['id']}", "DELETE")
        phone.sock.close()


def test_a_plain_client_gets_no_sip_from_the_tls_port(tls_lab: tuple[LabHandle, int, Path]) -> None:
    _, port, _ = tls_lab
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nContent-Length: 0\r\n\r\n")
        try:
            answer = raw.recv(4096)
        except (ConnectionResetError, TimeoutError):
            answer = b""
    assert b"SIP/2.0" not in answer
