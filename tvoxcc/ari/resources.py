"""The smaller ARI resources: playbacks, recordings, device states, endpoints, applications, asterisk."""

from __future__ import annotations

from tvoxcc.ari.models import (
    Application,
    AsteriskInfo,
    DeviceState,
    Endpoint,
    LiveRecording,
    Playback,
    StoredRecording,
)
from tvoxcc.ari.rest import AriHttp, seg

_Devices = list[DeviceState]
_Endpoints = list[Endpoint]
_Strs = list[str]


class PlaybacksApi:
    def __init__(self, http: AriHttp) -> None:
        self._http = http

    async def get(self, playback_id: str) -> Playback:
        return Playback.from_json(await self._http.request("GET", f"/playbacks/{seg(playback_id)}"))

    async def stop(self, playback_id: str) -> None:
        await self._http.request("DELETE", f"/playbacks/{seg(playback_id)}")

    async def control(self, playback_id: str, operation: str) -> None:
        """``operation``: restart, pause, unpause, reverse, forward."""
        await self._http.request("POST", f"/playbacks/{seg(playback_id)}/control", {"operation": operation})


class RecordingsApi:
    def __init__(self, http: AriHttp) -> None:
        self._http = http

    async def list_stored(self) -> list[StoredRecording]:
        return [StoredRecording.from_json(r) for r in await self._http.request("GET", "/recordings/stored") or ()]

    async def get_stored(self, name: str) -> StoredRecording:
        return StoredRecording.from_json(await self._http.request("GET", f"/recordings/stored/{seg(name)}"))

    async def stored_file(self, name: str) -> bytes:
        """The audio bytes of a stored recording (in its recorded format, e.g. WAV)."""
        return await self._http.request_bytes("GET", f"/recordings/stored/{seg(name)}/file")

    async def delete_stored(self, name: str) -> None:
        await self._http.request("DELETE", f"/recordings/stored/{seg(name)}")

    async def get_live(self, name: str) -> LiveRecording:
        return LiveRecording.from_json(await self._http.request("GET", f"/recordings/live/{seg(name)}"))

    async def stop_live(self, name: str) -> None:
        """Stop and keep the file."""
        await self._http.request("POST", f"/recordings/live/{seg(name)}/stop")

    async def pause_live(self, name: str) -> None:
        """Stop writing until unpaused; the paused time is left out of the file."""
        await self._http.request("POST", f"/recordings/live/{seg(name)}/pause")

    async def unpause_live(self, name: str) -> None:
        await self._http.request("DELETE", f"/recordings/live/{seg(name)}/pause")

    async def cancel_live(self, name: str) -> None:
        """Stop and discard the file."""
        await self._http.request("DELETE", f"/recordings/live/{seg(name)}")


class DeviceStatesApi:
    def __init__(self, http: AriHttp) -> None:
        self._http = http

    async def list(self) -> _Devices:
        return [DeviceState.from_json(d) for d in await self._http.request("GET", "/deviceStates") or ()]

    async def get(self, name: str) -> DeviceState:
        return DeviceState.from_json(await self._http.request("GET", f"/deviceStates/{seg(name)}"))

    async def put(self, name: str, state: str) -> None:
        """Only ``Stasis:<name>`` devices are writable (custom agent presence lamps)."""
        await self._http.request("PUT", f"/deviceStates/{seg(name)}", {"deviceState": state})

    async def delete(self, name: str) -> None:
        await self._http.request("DELETE", f"/deviceStates/{seg(name)}")


class EndpointsApi:
    def __init__(self, http: AriHttp) -> None:
        self._http = http

    async def list(self, technology: str | None = None) -> _Endpoints:
        path = f"/endpoints/{seg(technology)}" if technology else "/endpoints"
        return [Endpoint.from_json(e) for e in await self._http.request("GET", path) or ()]

    async def get(self, technology: str, resource: str) -> Endpoint:
        return Endpoint.from_json(await self._http.request("GET", f"/endpoints/{seg(technology)}/{seg(resource)}"))

    async def send_message(self, to: str, sender: str, body: str, variables: dict[str, str] | None = None) -> None:
        """An out-of-dialog text (SIP MESSAGE for ``pjsip:`` destinations, see res_pjsip_messaging's
        MessageDestinationInfo); ``variables`` become SIP headers. Asterisk answers 202 once it queued it."""
        await self._http.request(
            "PUT",
            "/endpoints/sendMessage",
            {"to": to, "from": sender, "body": body},
            {"variables": variables or {}},
        )


class ApplicationsApi:
    def __init__(self, http: AriHttp) -> None:
        self._http = http

    async def get(self, name: str) -> Application:
        return Application.from_json(await self._http.request("GET", f"/applications/{seg(name)}"))

    async def subscribe(self, name: str, event_source: str | _Strs) -> Application:
        """``event_source``: ``channel:<id>``, ``bridge:<id>``, ``endpoint:<tech>/<res>``, ``deviceState:<name>``."""
        source = ",".join(event_source) if isinstance(event_source, list) else event_source
        data = await self._http.request("POST", f"/applications/{seg(name)}/subscription", {"eventSource": source})
        return Application.from_json(data)

    async def unsubscribe(self, name: str, event_source: str | _Strs) -> Application:
        source = ",".join(event_source) if isinstance(event_source, list) else event_source
        data = await self._http.request("DELETE", f"/applications/{seg(name)}/subscription", {"eventSource": source})
        return Application.from_json(data)


class AsteriskApi:
    def __init__(self, http: AriHttp) -> None:
        self._http = http

    async def info(self) -> AsteriskInfo:
        return AsteriskInfo.from_json(await self._http.request("GET", "/asterisk/info"))

    async def ping(self) -> str:
        data = await self._http.request("GET", "/asterisk/ping")
        return str((data or {}).get("ping", ""))
