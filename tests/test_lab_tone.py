"""The lab's tone captures: well-formed PCMU RTP that decodes back to the tone, and its detection."""

from __future__ import annotations

import math
import struct
import wave
from io import BytesIO
from pathlib import Path

from tvoxcc.lab.tone import FIRST_SEQ, tone_pcap, tone_share, ulaw_decode, wav_samples


def _packets(pcap: bytes) -> list[bytes]:
    offset, out = 24, []
    while offset < len(pcap):
        (length,) = struct.unpack_from("<I", pcap, offset + 8)
        out.append(pcap[offset + 16 : offset + 16 + length])
        offset += 16 + length
    return out


def _wav(samples: list[int]) -> bytes:
    buffer = BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return buffer.getvalue()


def test_a_tone_capture_decodes_back_to_its_tone(tmp_path: Path) -> None:
    packets = _packets(tone_pcap(tmp_path / "t.pcap", 400, 1.0).read_bytes())
    assert len(packets) == 50
    rtp = [p[14 + 20 + 8 :] for p in packets]
    assert [struct.unpack_from(">H", r, 2)[0] for r in rtp] == list(range(FIRST_SEQ, FIRST_SEQ + 50))
    assert all(r[1] == 0 and len(r) == 12 + 160 for r in rtp)  # PCMU, 20 ms
    samples = [ulaw_decode(b) for r in rtp for b in r[12:]]
    audio = _wav(samples)
    assert tone_share(wav_samples(audio), 400) > 0.9
    assert tone_share(wav_samples(audio), 1500) < 0.01


def test_silence_and_a_mix_are_told_apart() -> None:
    assert tone_share([0] * 1600, 400) == 0.0
    mix = [int(4000 * math.sin(2 * math.pi * 400 * n / 8000) + 4000 * math.sin(2 * math.pi * 1500 * n / 8000))
           for n in range(8000)]  # fmt: skip
    assert 0.4 < tone_share(mix, 400) < 0.6 and 0.4 < tone_share(mix, 1500) < 0.6


def test_digits_ride_in_the_tone_stream(tmp_path: Path) -> None:
    packets = _packets(tone_pcap(tmp_path / "d.pcap", 400, 2.0, digits=[(1.0, "2")]).read_bytes())
    rtp = [p[14 + 20 + 8 :] for p in packets]
    seqs = [struct.unpack_from(">H", r, 2)[0] for r in rtp]
    assert seqs == list(range(FIRST_SEQ, FIRST_SEQ + 100))  # one stream, no gap
    events = [(i, r) for i, r in enumerate(rtp) if r[1] & 0x7F == 101]
    assert [i for i, _ in events] == list(range(50, 57))
    assert events[0][1][1] & 0x80 and not any(r[1] & 0x80 for _, r in events[1:])  # marker on the first
    assert {r[12] for _, r in events} == {2}
    assert [bool(r[13] & 0x80) for _, r in events] == [False] * 4 + [True] * 3  # the end, three times
    assert len({struct.unpack_from(">I", r, 4)[0] for _, r in events}) == 1  # one timestamp per event
