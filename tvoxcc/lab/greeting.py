"""A called party's voice for sipp: G.711 u-law RTP in a pcap, a tone (speech, to AMD) then silence.

AMD() tells a person ("hello?", under 1.5 s, then silence) from an answering machine (a greeting of several
seconds) by the length of the first sound and the silence after it; sipp replays a pcap's RTP payloads at
the pcap's own pace, so a tone of the right length is enough to stand for either.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

RATE, PACKET_MS = 8000, 20
SAMPLES = RATE * PACKET_MS // 1000


def _ulaw(sample: int) -> int:
    """One 16-bit linear sample in G.711 u-law (the ITU reference algorithm)."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = max((magnitude >> 7).bit_length() - 1, 0)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _packet(seq: int, timestamp: int, payload: bytes) -> bytes:
    rtp = struct.pack(">BBHII", 0x80, 0, seq & 0xFFFF, timestamp & 0xFFFFFFFF, 0x7C0FFEE) + payload
    udp = struct.pack(">HHHH", 6000, 6002, 8 + len(rtp), 0) + rtp  # the ports are sipp's to replace
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(4), bytes(4)) + udp
    return bytes(12) + b"\x08\x00" + ip  # Ethernet: no addresses, IPv4


def greeting_pcap(target: Path, *, lead_ms: int, tone_ms: int, silence_ms: int) -> Path:
    """Silence for lead_ms, a 440 Hz tone for tone_ms, then silence for silence_ms."""
    silent = bytes([_ulaw(0)]) * SAMPLES
    records = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    total = (lead_ms + tone_ms + silence_ms) // PACKET_MS
    for n in range(total):
        at_ms = n * PACKET_MS
        if lead_ms <= at_ms < lead_ms + tone_ms:
            payload = bytes(
                _ulaw(int(8000 * math.sin(2 * math.pi * 440 * (n * SAMPLES + i) / RATE))) for i in range(SAMPLES)
            )
        else:
            payload = silent
        frame = _packet(n, n * SAMPLES, payload)
        seconds, micros = divmod(at_ms * 1000, 1_000_000)
        records.append(struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame)
    target.write_bytes(b"".join(records))
    return target
