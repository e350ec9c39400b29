"""Ports for sipp phones: a parallel worker picks only in its own slice, never one it handed out lately."""

from __future__ import annotations

import collections
import socket

import pytest

from tvoxcc.lab import sipp


def test_a_worker_picks_in_its_slice_and_never_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sipp.PORT_SLICE_ENV, "1/2")
    low, high = sipp.EPHEMERAL
    middle = low + (high - low) // 2
    ports = [sipp.free_udp_port() for _ in range(300)]
    assert all(middle <= p < high for p in ports)
    assert len(set(ports)) == len(ports)


def test_a_port_in_use_or_below_one_in_use_is_not_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sipp.PORT_SLICE_ENV, "0/1")
    monkeypatch.setattr(sipp, "EPHEMERAL", (40000, 40016))  # three candidates: 40000, 40004, 40008
    monkeypatch.setattr(sipp, "_RECENT", collections.deque(maxlen=8))
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b2,
    ):
        busy.bind(("127.0.0.1", 40002))  # inside 40000's group
        b2.bind(("127.0.0.1", 40008))
        assert sipp.free_udp_port() == 40004
        with pytest.raises(OSError, match="no free UDP port"):
            sipp.free_udp_port()  # 40004 handed out, the other two busy
