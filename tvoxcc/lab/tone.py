"""A pure tone as an RTP (PCMU) capture sipp can play (``play_pcap_audio``), and its detection in a recording.

sipp ships no audio capture, only RFC2833 digits. A tone of its own frequency per party lets a test tell who
hears whom: record what a channel hears (an ARI snoop spying ``out``) and measure each party's frequency.
"""

from __future__ import annotations

import math
import struct
import wave
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

RATE = 8000
FRAME = 160  # 20 ms at 8 kHz
# Past the renumbered RFC2833 digits (tvoxcc/lab/dtmf.py): Asterisk must not take the tone for late packets.
FIRST_SEQ = 20_000
FIRST_TS = 4_000_000
TELEPHONE_EVENT = 101  # the payload type the lab's scenarios offer for RFC2833
EVENT_PACKETS = 5  # 100 ms a digit


def _ulaw(sample: int) -> int:
    """G.711 mu-law of one 16-bit sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), clip) + bias
    exponent = 7
    while exponent > 0 and not magnitude & (0x4000 >> (7 - exponent)):
        exponent -= 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def tone_pcap(
    target: Path,
    frequency_hz: float,
    seconds: float,
    *,
    digits: Sequence[tuple[float, str]] = (),
    amplitude: int = 8000,
) -> Path:
    """``seconds`` of a sine at ``frequency_hz`` as PCMU RTP packets every 20 ms (Ethernet/IPv4/UDP, as sipp's).

    ``digits``: (second, digit) RFC2833 events sent in the same stream (one SSRC, one run of sequence numbers):
    digits played from other captures alongside a tone would interleave two streams, and Asterisk drops one.
    """
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    ssrc = 0x7E57_0000 | int(frequency_hz) & 0xFFFF
    events = _event_packets(digits)
    for index in range(int(seconds * RATE / FRAME)):
        timestamp = FIRST_TS + index * FRAME
        if index in events:
            event_start, body, first = events[index]
            header = struct.pack(">BBHII", 0x80, (0x80 if first else 0) | TELEPHONE_EVENT,
                                 (FIRST_SEQ + index) & 0xFFFF, FIRST_TS + event_start * FRAME, ssrc)  # fmt: skip
            rtp = header + body
        else:
            payload = bytes(
                _ulaw(int(amplitude * math.sin(2 * math.pi * frequency_hz * (index * FRAME + n) / RATE)))
                for n in range(FRAME)
            )
            rtp = struct.pack(">BBHII", 0x80, 0, (FIRST_SEQ + index) & 0xFFFF, timestamp, ssrc) + payload
        udp = struct.pack(">HHHH", 10000, 10000, 8 + len(rtp), 0) + rtp  # sipp rewrites addresses and ports
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(4), bytes(4)) + udp
        frame = bytes(12) + b"\x08\x00" + ip
        micros = index * 20_000
        out += struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)) + frame
    target.write_bytes(bytes(out))
    return target


def _event_packets(digits: Sequence[tuple[float, str]]) -> dict[int, tuple[int, bytes, bool]]:
    """Packet index -> (the event's first index, its RFC2833 payload, marker): 100 ms of each digit, its end
    sent three times."""
    packets: dict[int, tuple[int, bytes, bool]] = {}
    for at, digit in digits:
        start = int(at * RATE / FRAME)
        code = "0123456789*#".index(digit)
        for step in range(EVENT_PACKETS + 2):
            ended = step >= EVENT_PACKETS - 1
            duration = FRAME * min(step + 1, EVENT_PACKETS)
            body = struct.pack(">BBH", code, (0x80 if ended else 0) | 10, duration)
            packets[start + step] = (start, body, step == 0)
    return packets


def ulaw_decode(byte: int) -> int:
    """One G.711 mu-law byte as a 16-bit sample."""
    byte = ~byte & 0xFF
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    magnitude = ((mantissa << 3) + 0x84) << exponent
    return -(magnitude - 0x84) if sign else magnitude - 0x84


def wav_samples(wav: bytes) -> list[int]:
    """The 16-bit mono samples of a WAV file (8 kHz, as Asterisk records)."""
    with wave.open(BytesIO(wav)) as reader:
        raw = reader.readframes(reader.getnframes()) if reader.getsampwidth() == 2 else b""
    return list(struct.unpack(f"<{len(raw) // 2}h", raw))


def tone_share(samples: list[int], frequency_hz: float, rate: int = RATE) -> float:
    """How much of some audio's energy is at ``frequency_hz`` (0..1; Goertzel over 20 ms blocks)."""
    block = rate // 50
    coefficient = 2 * math.cos(2 * math.pi * frequency_hz / rate)
    tone = total = 0.0
    for start in range(0, len(samples) - block + 1, block):
        s1 = s2 = 0.0
        chunk = samples[start : start + block]
        for sample in chunk:
            s1, s2 = sample + coefficient * s1 - s2, s1
        tone += (s1 * s1 + s2 * s2 - coefficient * s1 * s2) * 2 / block
        total += sum(x * x for x in chunk)
    return tone / total if total else 0.0
