"""Typed ARI events (the subset a contact center reacts to) and ``parse_event``.

Each Asterisk event JSON has ``type``, ``application`` and ``timestamp``; the classes below add
the typed payload. Anything else becomes ``UnknownEvent`` carrying the raw dict, so a new Asterisk
event never crashes the event loop. ``Connected``/``Disconnected`` are not from Asterisk: the
websocket emits them so the application can resync its state after a reconnect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

from tvoxcc.ari.models import (
    Bridge,
    Channel,
    DeviceState,
    Endpoint,
    Json,
    LiveRecording,
    Playback,
    TextMessage,
    parse_time,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Base:
    application: str = ""
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StasisStart(_Base):
    channel: Channel
    args: tuple[str, ...] = ()
    replace_channel: Channel | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StasisEnd(_Base):
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelDtmfReceived(_Base):
    channel: Channel
    digit: str
    duration_ms: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelHangupRequest(_Base):
    channel: Channel
    cause: int = 0
    soft: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelDestroyed(_Base):
    channel: Channel
    cause: int = 0
    cause_txt: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelStateChange(_Base):
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelVarset(_Base):
    variable: str
    value: str
    channel: Channel | None = None  # None for global variables


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelEnteredBridge(_Base):
    bridge: Bridge
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelLeftBridge(_Base):
    bridge: Bridge
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class Dial(_Base):
    peer: Channel
    dialstatus: str = ""  # "" while ringing, then ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION, CHANUNAVAIL
    caller: Channel | None = None
    dialstring: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackStarted(_Base):
    playback: Playback


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackFinished(_Base):
    playback: Playback


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStarted(_Base):
    recording: LiveRecording


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingFinished(_Base):
    recording: LiveRecording


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingFailed(_Base):
    recording: LiveRecording


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceStateChanged(_Base):
    device_state: DeviceState


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointStateChange(_Base):
    endpoint: Endpoint


@dataclass(frozen=True, slots=True, kw_only=True)
class TextMessageReceived(_Base):
    """A SIP MESSAGE through an endpoint the app subscribed to (``endpoint:PJSIP/<trunk>``)."""

    message: TextMessage
    endpoint: Endpoint | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent(_Base):
    type: str
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Connected(_Base):
    """The events websocket is (re)connected; ``reconnect`` is True after the first time."""

    reconnect: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Disconnected(_Base):
    """The events websocket dropped; events may have been missed until the next ``Connected``."""

    reason: str = ""


AriEvent: TypeAlias = (
    StasisStart
    | StasisEnd
    | ChannelDtmfReceived
    | ChannelHangupRequest
    | ChannelDestroyed
    | ChannelStateChange
    | ChannelVarset
    | ChannelEnteredBridge
    | ChannelLeftBridge
    | Dial
    | PlaybackStarted
    | PlaybackFinished
    | RecordingStarted
    | RecordingFinished
    | RecordingFailed
    | DeviceStateChanged
    | EndpointStateChange
    | TextMessageReceived
    | UnknownEvent
)
StreamItem: TypeAlias = AriEvent | Connected | Disconnected


def _m(data: Json, key: str) -> Json:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _channel(data: Json) -> Channel:
    return Channel.from_json(_m(data, "channel"))


def _opt_channel(data: Json, key: str) -> Channel | None:
    sub = data.get(key)
    return Channel.from_json(sub) if isinstance(sub, Mapping) else None


def _int(data: Json, key: str) -> int:
    try:
        return int(data.get(key) or 0)
    except (TypeError, ValueError):
        return 0


_Common = dict[str, Any]
_PARSERS: dict[str, Callable[[Json, _Common], AriEvent]] = {
    "StasisStart": lambda d, c: StasisStart(
        channel=_channel(d),
        args=tuple(str(a) for a in d.get("args") or ()),
        replace_channel=_opt_channel(d, "replace_channel"),
        **c,
    ),
    "StasisEnd": lambda d, c: StasisEnd(channel=_channel(d), **c),
    "ChannelDtmfReceived": lambda d, c: ChannelDtmfReceived(
        channel=_channel(d), digit=str(d.get("digit", "")), duration_ms=_int(d, "duration_ms"), **c
    ),
    "ChannelHangupRequest": lambda d, c: ChannelHangupRequest(
        channel=_channel(d), cause=_int(d, "cause"), soft=bool(d.get("soft", False)), **c
    ),
    "ChannelDestroyed": lambda d, c: ChannelDestroyed(
        channel=_channel(d), cause=_int(d, "cause"), cause_txt=str(d.get("cause_txt", "")), **c
    ),
    "ChannelStateChange": lambda d, c: ChannelStateChange(channel=_channel(d), **c),
    "ChannelVarset": lambda d, c: ChannelVarset(
        variable=str(d.get("variable", "")),
        value=str(d.get("value", "")),
        channel=_opt_channel(d, "channel"),
        **c,
    ),
    "ChannelEnteredBridge": lambda d, c: ChannelEnteredBridge(
        bridge=Bridge.from_json(_m(d, "bridge")), channel=_channel(d), **c
    ),
    "ChannelLeftBridge": lambda d, c: ChannelLeftBridge(
        bridge=Bridge.from_json(_m(d, "bridge")), channel=_channel(d), **c
    ),
    "Dial": lambda d, c: Dial(
        peer=Channel.from_json(_m(d, "peer")),
        dialstatus=str(d.get("dialstatus", "")),
        caller=_opt_channel(d, "caller"),
        dialstring=str(d.get("dialstring", "")),
        **c,
    ),
    "PlaybackStarted": lambda d, c: PlaybackStarted(playback=Playback.from_json(_m(d, "playback")), **c),
    "PlaybackFinished": lambda d, c: PlaybackFinished(playback=Playback.from_json(_m(d, "playback")), **c),
    "RecordingStarted": lambda d, c: RecordingStarted(recording=LiveRecording.from_json(_m(d, "recording")), **c),
    "RecordingFinished": lambda d, c: RecordingFinished(recording=LiveRecording.from_json(_m(d, "recording")), **c),
    "RecordingFailed": lambda d, c: RecordingFailed(recording=LiveRecording.from_json(_m(d, "recording")), **c),
    "DeviceStateChanged": lambda d, c: DeviceStateChanged(
        device_state=DeviceState.from_json(_m(d, "device_state")), **c
    ),
    "EndpointStateChange": lambda d, c: EndpointStateChange(endpoint=Endpoint.from_json(_m(d, "endpoint")), **c),
    "TextMessageReceived": lambda d, c: TextMessageReceived(
        message=TextMessage.from_json(_m(d, "message")),
        endpoint=Endpoint.from_json(_m(d, "endpoint")) if isinstance(d.get("endpoint"), Mapping) else None,
        **c,
    ),
}


def parse_event(data: Json) -> AriEvent:
    """One ARI event JSON object -> its typed event (``UnknownEvent`` for types we do not model)."""
    kind = str(data.get("type", ""))
    common: _Common = {
        "application": str(data.get("application", "")),
        "timestamp": parse_time(str(data.get("timestamp") or "")),
    }
    parser = _PARSERS.get(kind)
    if parser is None:
        return UnknownEvent(type=kind, raw=dict(data), **common)
    return parser(data, common)
