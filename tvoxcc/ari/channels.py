"""/channels: everything a call flow does to one leg."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tvoxcc.ari.models import Channel, LiveRecording, Playback
from tvoxcc.ari.rest import AriHttp, seg

_Channels = list[Channel]
_Strs = list[str]


def _vars(variables: Mapping[str, str] | None) -> dict[str, Any] | None:
    return {"variables": dict(variables)} if variables else None


class ChannelsApi:
    def __init__(self, http: AriHttp, app: str) -> None:
        self._http = http
        self._app = app

    async def list(self) -> _Channels:
        data = await self._http.request("GET", "/channels")
        return [Channel.from_json(c) for c in data or ()]

    async def get(self, channel_id: str) -> Channel:
        return Channel.from_json(await self._http.request("GET", f"/channels/{seg(channel_id)}"))

    async def originate(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: str | None = None,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        caller_id: str | None = None,
        ring_timeout: int = 30,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Dial ``endpoint`` (e.g. ``PJSIP/1001``) into our app (default) or a dialplan location."""
        if context is None and extension is None and app is None:
            app = self._app
        params = {
            "endpoint": endpoint,
            "app": app,
            "appArgs": app_args,
            "context": context,
            "extension": extension,
            "priority": priority,
            "callerId": caller_id,
            "timeout": ring_timeout,
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "originator": originator,
        }
        return Channel.from_json(await self._http.request("POST", "/channels", params, _vars(variables)))

    async def create(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: str | None = None,
        channel_id: str | None = None,
        originator: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Create a channel without dialing it yet (then ``dial``): lets us subscribe first."""
        params = {
            "endpoint": endpoint,
            "app": app or self._app,
            "appArgs": app_args,
            "channelId": channel_id,
            "originator": originator,
        }
        return Channel.from_json(await self._http.request("POST", "/channels/create", params, _vars(variables)))

    async def dial(self, channel_id: str, *, caller: str | None = None, ring_timeout: int | None = None) -> None:
        params = {"caller": caller, "timeout": ring_timeout}
        await self._http.request("POST", f"/channels/{seg(channel_id)}/dial", params)

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self._http.request("DELETE", f"/channels/{seg(channel_id)}", {"reason": reason})

    async def answer(self, channel_id: str) -> None:
        await self._http.request("POST", f"/channels/{seg(channel_id)}/answer")

    async def ring(self, channel_id: str) -> None:
        await self._http.request("POST", f"/channels/{seg(channel_id)}/ring")

    async def ring_stop(self, channel_id: str) -> None:
        await self._http.request("DELETE", f"/channels/{seg(channel_id)}/ring")

    async def play(
        self,
        channel_id: str,
        media: str | _Strs,
        *,
        lang: str | None = None,
        playback_id: str | None = None,
        offsetms: int | None = None,
        skipms: int | None = None,
    ) -> Playback:
        """Play ``sound:...``, ``recording:...``, ``digits:...``, ``tone:...`` (a list plays in sequence)."""
        params = {
            "media": ",".join(media) if isinstance(media, list) else media,
            "lang": lang,
            "playbackId": playback_id,
            "offsetms": offsetms,
            "skipms": skipms,
        }
        return Playback.from_json(await self._http.request("POST", f"/channels/{seg(channel_id)}/play", params))

    async def continue_in_dialplan(
        self,
        channel_id: str,
        *,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        params = {"context": context, "extension": extension, "priority": priority, "label": label}
        await self._http.request("POST", f"/channels/{seg(channel_id)}/continue", params)

    async def redirect(self, channel_id: str, endpoint: str) -> None:
        await self._http.request("POST", f"/channels/{seg(channel_id)}/redirect", {"endpoint": endpoint})

    async def set_variable(self, channel_id: str, variable: str, value: str) -> None:
        params = {"variable": variable, "value": value}
        await self._http.request("POST", f"/channels/{seg(channel_id)}/variable", params)

    async def get_variable(self, channel_id: str, variable: str) -> str:
        data = await self._http.request("GET", f"/channels/{seg(channel_id)}/variable", {"variable": variable})
        return str((data or {}).get("value", ""))

    async def send_dtmf(
        self, channel_id: str, dtmf: str, *, between: int | None = None, duration: int | None = None
    ) -> None:
        params = {"dtmf": dtmf, "between": between, "duration": duration}
        await self._http.request("POST", f"/channels/{seg(channel_id)}/dtmf", params)

    async def moh_start(self, channel_id: str, moh_class: str | None = None) -> None:
        await self._http.request("POST", f"/channels/{seg(channel_id)}/moh", {"mohClass": moh_class})

    async def moh_stop(self, channel_id: str) -> None:
        await self._http.request("DELETE", f"/channels/{seg(channel_id)}/moh")

    async def hold(self, channel_id: str) -> None:
        await self._http.request("POST", f"/channels/{seg(channel_id)}/hold")

    async def unhold(self, channel_id: str) -> None:
        await self._http.request("DELETE", f"/channels/{seg(channel_id)}/hold")

    async def mute(self, channel_id: str, direction: str = "both") -> None:
        await self._http.request("POST", f"/channels/{seg(channel_id)}/mute", {"direction": direction})

    async def unmute(self, channel_id: str, direction: str = "both") -> None:
        await self._http.request("DELETE", f"/channels/{seg(channel_id)}/mute", {"direction": direction})

    async def snoop(
        self,
        channel_id: str,
        *,
        spy: str = "none",
        whisper: str = "none",
        app: str | None = None,
        app_args: str | None = None,
        snoop_id: str | None = None,
    ) -> Channel:
        """Supervisor listen (spy=in/out/both) or whisper; the snoop channel lands in ``app``."""
        params = {"spy": spy, "whisper": whisper, "app": app or self._app, "appArgs": app_args, "snoopId": snoop_id}
        return Channel.from_json(await self._http.request("POST", f"/channels/{seg(channel_id)}/snoop", params))

    async def record(
        self,
        channel_id: str,
        name: str,
        *,
        format: str = "wav",
        max_duration_seconds: int | None = None,
        max_silence_seconds: int | None = None,
        if_exists: str = "fail",
        beep: bool = False,
        terminate_on: str = "none",
    ) -> LiveRecording:
        params = {
            "name": name,
            "format": format,
            "maxDurationSeconds": max_duration_seconds,
            "maxSilenceSeconds": max_silence_seconds,
            "ifExists": if_exists,
            "beep": beep,
            "terminateOn": terminate_on,
        }
        data = await self._http.request("POST", f"/channels/{seg(channel_id)}/record", params)
        return LiveRecording.from_json(data)
