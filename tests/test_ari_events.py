"""parse_event: Asterisk 22 event JSON -> typed dataclasses; unknown types keep their raw dict."""

from __future__ import annotations

from tvoxcc.ari import parse_event
from tvoxcc.ari.events import (
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelEnteredBridge,
    ChannelHangupRequest,
    ChannelVarset,
    DeviceStateChanged,
    Dial,
    EndpointStateChange,
    PlaybackFinished,
    RecordingFinished,
    StasisEnd,
    StasisStart,
    TextMessageReceived,
    UnknownEvent,
)

CHANNEL = {
    "id": "1700000000.7",
    "name": "PJSIP/trunk-00000007",
    "state": "Ring",
    "caller": {"name": "Bob", "number": "0612345678"},
    "connected": {"name": "", "number": ""},
    "accountcode": "",
    "dialplan": {"context": "tvoxcc-inbound", "exten": "800", "priority": 3, "app_name": "Stasis", "app_data": "x"},
    "creationtime": "2025-03-01T10:00:00.000+0000",
    "language": "en",
}
COMMON = {"application": "tvoxcc", "timestamp": "2025-03-01T10:00:01.000+0000", "asterisk_id": "00:11"}


def test_stasis_start() -> None:
    ev = parse_event({"type": "StasisStart", "args": ["acme", "sales"], "channel": CHANNEL, **COMMON})
    assert isinstance(ev, StasisStart)
    assert ev.args == ("acme", "sales")
    assert ev.channel.caller.number == "0612345678" and ev.channel.dialplan.context == "tvoxcc-inbound"
    assert ev.application == "tvoxcc" and ev.timestamp is not None
    assert ev.replace_channel is None


def test_channel_events() -> None:
    dtmf = parse_event({"type": "ChannelDtmfReceived", "digit": "5", "duration_ms": 120, "channel": CHANNEL, **COMMON})
    assert isinstance(dtmf, ChannelDtmfReceived) and dtmf.digit == "5" and dtmf.duration_ms == 120
    hup = parse_event({"type": "ChannelHangupRequest", "cause": 16, "soft": True, "channel": CHANNEL})
    assert isinstance(hup, ChannelHangupRequest) and hup.cause == 16 and hup.soft
    gone = parse_event({"type": "ChannelDestroyed", "cause": 16, "cause_txt": "Normal Clearing", "channel": CHANNEL})
    assert isinstance(gone, ChannelDestroyed) and gone.cause_txt == "Normal Clearing"
    end = parse_event({"type": "StasisEnd", "channel": CHANNEL})
    assert isinstance(end, StasisEnd) and end.channel.id == CHANNEL["id"]
    var = parse_event({"type": "ChannelVarset", "variable": "X", "value": "1"})
    assert isinstance(var, ChannelVarset) and var.channel is None


def test_bridge_playback_recording_device_endpoint_dial() -> None:
    bridge = {"id": "b1", "technology": "simple_bridge", "bridge_type": "mixing", "channels": ["1", "2"]}
    ev = parse_event({"type": "ChannelEnteredBridge", "bridge": bridge, "channel": CHANNEL})
    assert isinstance(ev, ChannelEnteredBridge) and ev.bridge.channels == ("1", "2")
    pb = parse_event({"type": "PlaybackFinished", "playback": {"id": "p", "state": "done", "target_uri": "channel:1"}})
    assert isinstance(pb, PlaybackFinished) and pb.playback.state == "done"
    rec = parse_event({"type": "RecordingFinished", "recording": {"name": "r", "format": "wav", "duration": 4}})
    assert isinstance(rec, RecordingFinished) and rec.recording.duration == 4
    ds = parse_event({"type": "DeviceStateChanged", "device_state": {"name": "PJSIP/1001", "state": "INUSE"}})
    assert isinstance(ds, DeviceStateChanged) and ds.device_state.state == "INUSE"
    ep = parse_event(
        {"type": "EndpointStateChange", "endpoint": {"technology": "PJSIP", "resource": "1001", "state": "online"}}
    )
    assert isinstance(ep, EndpointStateChange) and ep.endpoint.state == "online"
    dial = parse_event({"type": "Dial", "peer": CHANNEL, "dialstatus": "ANSWER", "dialstring": "1001"})
    assert isinstance(dial, Dial) and dial.dialstatus == "ANSWER" and dial.caller is None


def test_unknown_and_malformed_never_raise() -> None:
    ev = parse_event({"type": "ChannelTalkingStarted", "channel": CHANNEL, **COMMON})
    assert isinstance(ev, UnknownEvent) and ev.type == "ChannelTalkingStarted" and ev.raw["channel"] == CHANNEL
    odd = parse_event({"type": "ChannelDtmfReceived", "duration_ms": "x", "channel": None, "timestamp": "junk"})
    assert isinstance(odd, ChannelDtmfReceived) and odd.duration_ms == 0 and odd.timestamp is None
    assert isinstance(parse_event({}), UnknownEvent)


def test_text_message_received() -> None:
    # As res_stasis messaging sends it: From/To as res_pjsip_messaging wrote them, headers as variables.
    ev = parse_event(
        {
            "type": "TextMessageReceived",
            "application": "tvoxcc",
            "message": {
                "from": '"caller" <sip:caller@127.0.0.1>',
                "to": "pjsip:5553000@127.0.0.1",
                "body": "hi",
                "variables": {"PJSIP_RECVADDR": "127.0.0.1:5070", "P-Asserted-Identity": "<sip:+3933@127.0.0.1>"},
            },
            "endpoint": {"technology": "PJSIP", "resource": "caller", "state": "unknown", "channel_ids": []},
        }
    )
    assert isinstance(ev, TextMessageReceived)
    assert ev.message.body == "hi" and ev.message.to == "pjsip:5553000@127.0.0.1"
    assert ev.message.variables["PJSIP_RECVADDR"] == "127.0.0.1:5070"
    assert ev.endpoint is not None and ev.endpoint.resource == "caller"
    bare = parse_event({"type": "TextMessageReceived", "message": {"body": 5, "variables": []}})
    assert isinstance(bare, TextMessageReceived) and bare.endpoint is None and bare.message.variables == {}
