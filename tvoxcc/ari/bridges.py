"""/bridges: mixing bridges join caller and agent; holding bridges park callers with MOH."""

from __future__ import annotations

from tvoxcc.ari.models import Bridge, LiveRecording, Playback
from tvoxcc.ari.rest import AriHttp, seg

_Bridges = list[Bridge]
_Strs = list[str]


class BridgesApi:
    def __init__(self, http: AriHttp) -> None:
        self._http = http

    async def list(self) -> _Bridges:
        return [Bridge.from_json(b) for b in await self._http.request("GET", "/bridges") or ()]

    async def get(self, bridge_id: str) -> Bridge:
        return Bridge.from_json(await self._http.request("GET", f"/bridges/{seg(bridge_id)}"))

    async def create(self, *, type: str = "mixing", bridge_id: str | None = None, name: str | None = None) -> Bridge:
        params = {"type": type, "bridgeId": bridge_id, "name": name}
        return Bridge.from_json(await self._http.request("POST", "/bridges", params))

    async def destroy(self, bridge_id: str) -> None:
        await self._http.request("DELETE", f"/bridges/{seg(bridge_id)}")

    async def add_channel(
        self, bridge_id: str, channel: str | _Strs, *, role: str | None = None, absorb_dtmf: bool | None = None
    ) -> None:
        params = {
            "channel": ",".join(channel) if isinstance(channel, list) else channel,
            "role": role,
            "absorbDTMF": absorb_dtmf,
        }
        await self._http.request("POST", f"/bridges/{seg(bridge_id)}/addChannel", params)

    async def remove_channel(self, bridge_id: str, channel: str | _Strs) -> None:
        params = {"channel": ",".join(channel) if isinstance(channel, list) else channel}
        await self._http.request("POST", f"/bridges/{seg(bridge_id)}/removeChannel", params)

    async def play(
        self, bridge_id: str, media: str | _Strs, *, lang: str | None = None, playback_id: str | None = None
    ) -> Playback:
        params = {
            "media": ",".join(media) if isinstance(media, list) else media,
            "lang": lang,
            "playbackId": playback_id,
        }
        return Playback.from_json(await self._http.request("POST", f"/bridges/{seg(bridge_id)}/play", params))

    async def moh_start(self, bridge_id: str, moh_class: str | None = None) -> None:
        await self._http.request("POST", f"/bridges/{seg(bridge_id)}/moh", {"mohClass": moh_class})

    async def moh_stop(self, bridge_id: str) -> None:
        await self._http.request("DELETE", f"/bridges/{seg(bridge_id)}/moh")

    async def record(self, bridge_id: str, name: str, *, format: str = "wav", if_exists: str = "fail") -> LiveRecording:
        params = {"name": name, "format": format, "ifExists": if_exists}
        return LiveRecording.from_json(await self._http.request("POST", f"/bridges/{seg(bridge_id)}/record", params))
