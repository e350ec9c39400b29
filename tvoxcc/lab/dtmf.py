"""RFC2833 digits for sipp, renumbered so Asterisk takes every one of them.

sipp ships one pcap per digit, each with its own fixed RTP sequence numbers and timestamp
(dtmf_2833_2 uses 8042-8049, dtmf_2833_1 uses 7984-7991…). Played one after another, a digit whose
numbers are lower than the previous one's is taken for a late packet and dropped: "2123" arrives as
"23". Each digit here is a copy of sipp's pcap with sequence numbers and timestamps carried on from
the digit before.
"""

from __future__ import annotations

import struct
from pathlib import Path

PCAP_HEADER = 24
RECORD_HEADER = 16
RTP_OFFSET = 14 + 20 + 8  # Ethernet + IPv4 + UDP, as in sipp's files
SEQ_STEP = 100
TS_STEP = 8000  # one second at 8 kHz between events


def renumbered(source: Path, target: Path, index: int) -> Path:
    data = bytearray(source.read_bytes())
    offset = PCAP_HEADER
    first: tuple[int, int] | None = None
    while offset + RECORD_HEADER <= len(data):
        (length,) = struct.unpack_from("<I", data, offset + 8)
        rtp = offset + RECORD_HEADER + RTP_OFFSET
        seq, timestamp = struct.unpack_from(">HI", data, rtp + 2)
        if first is None:
            first = (seq, timestamp)
        new_seq = (1000 + index * SEQ_STEP + (seq - first[0])) & 0xFFFF
        new_ts = (100_000 + index * TS_STEP + (timestamp - first[1])) & 0xFFFFFFFF
        struct.pack_into(">HI", data, rtp + 2, new_seq, new_ts)
        # The UDP checksum is optional over IPv4: zero it rather than recompute it.
        struct.pack_into(">H", data, offset + RECORD_HEADER + 14 + 20 + 6, 0)
        offset += RECORD_HEADER + length
    target.write_bytes(bytes(data))
    return target
