"""``AriClient``: one object holding the REST resources and the events websocket for our Stasis app."""

from __future__ import annotations

from types import TracebackType

from tvoxcc.ari.bridges import BridgesApi
from tvoxcc.ari.channels import ChannelsApi
from tvoxcc.ari.resources import (
    ApplicationsApi,
    AsteriskApi,
    DeviceStatesApi,
    EndpointsApi,
    PlaybacksApi,
    RecordingsApi,
)
from tvoxcc.ari.rest import AriHttp
from tvoxcc.ari.websocket import DEFAULT_BACKOFF, AriEvents
from tvoxcc.backoff import Backoff
from tvoxcc.config import Settings


class AriClient:
    """REST calls as ``client.channels.answer(id)``; events as ``async for ev in client.events()``."""

    def __init__(
        self,
        ari_url: str,
        user: str,
        password: str,
        app: str,
        *,
        timeout: float = 10.0,
        http: AriHttp | None = None,
    ) -> None:
        self.ari_url = ari_url
        self.app = app
        self._user = user
        self._password = password
        # ``http``: another way to Asterisk (tvoxcc.voice.nodes routes each request to one of N nodes).
        self.http = http or AriHttp(ari_url, user, password, timeout=timeout)
        self.channels = ChannelsApi(self.http, app)
        self.bridges = BridgesApi(self.http)
        self.playbacks = PlaybacksApi(self.http)
        self.recordings = RecordingsApi(self.http)
        self.device_states = DeviceStatesApi(self.http)
        self.endpoints = EndpointsApi(self.http)
        self.applications = ApplicationsApi(self.http)
        self.asterisk = AsteriskApi(self.http)

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout: float = 10.0) -> AriClient:
        a = settings.asterisk
        return cls(a.ari_url, a.ari_user, a.ari_password.get_secret_value(), a.ari_app, timeout=timeout)

    def events(
        self,
        *,
        subscribe_all: bool = False,
        only: frozenset[str] | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
        heartbeat: float = 15.0,
        app: str | None = None,
    ) -> AriEvents:
        """A new events websocket for our app, or another ``app`` (``only``: just these event types); iterate
        it, ``close()`` it."""
        return AriEvents(
            self.ari_url,
            self._user,
            self._password,
            app or self.app,
            subscribe_all=subscribe_all,
            only=only,
            backoff=backoff,
            heartbeat=heartbeat,
        )

    async def close(self) -> None:
        await self.http.close()

    async def __aenter__(self) -> AriClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        # Never the password.
        return f"AriClient({self.ari_url!r}, user={self._user!r}, app={self.app!r})"
