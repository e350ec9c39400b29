"""What a lab phone receives, taken off the loopback wire: the PCMU audio of the RTP sent to its media port.

A phone's own view is the only honest one for who hears whom: inside Asterisk a spy sees a channel's audio
before any whisper is mixed in. Needs root (a raw packet socket on ``lo``), as the lab does.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterable

from tvoxcc.lab.tone import ulaw_decode

ETH_P_ALL = 0x0003
PCMU = 0


def capture(ports: Iterable[int], seconds: float, interface: str = "lo") -> dict[int, list[int]]:
    """For ``seconds``: media port -> the samples of the PCMU RTP packets sent to it, in arrival order."""
    wanted = set(ports)
    audio: dict[int, list[int]] = {port: [] for port in wanted}
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(ETH_P_ALL)) as tap:
        tap.bind((interface, 0))
        tap.settimeout(0.2)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                packet, address = tap.recvfrom(65535)
            except TimeoutError:
                continue
            if address[2] == socket.PACKET_OUTGOING:
                continue  # loopback shows every packet twice: keep the incoming copy
            payload = _rtp_to(packet, wanted)
            if payload is not None:
                port, body = payload
                audio[port].extend(ulaw_decode(b) for b in body)
    return audio


def _rtp_to(packet: bytes, ports: set[int]) -> tuple[int, bytes] | None:
    """(destination port, PCMU payload) of an IPv4/UDP/RTP packet to one of ``ports``."""
    if len(packet) < 14 + 20 + 8 + 12 or packet[12:14] != b"\x08\x00" or packet[14 + 9] != 17:
        return None
    ip_len = (packet[14] & 0x0F) * 4
    udp = 14 + ip_len
    (port,) = struct.unpack_from(">H", packet, udp + 2)
    rtp = udp + 8
    if port not in ports or packet[rtp] >> 6 != 2 or packet[rtp + 1] & 0x7F != PCMU:
        return None
    header = 12 + 4 * (packet[rtp] & 0x0F)
    return port, packet[rtp + header :]
