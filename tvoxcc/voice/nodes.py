"""One voice service, N Asterisk nodes: an ARI client per node behind one ``AriClient`` that routes.

``NodesAri`` is an ``AriClient`` whose HTTP layer (``NodeHttp``) sends each request to the node that holds
what it names (tvoxcc.voice.node_routes decides where), so the IVR, the ACD, supervision and campaigns drive
calls on any node unchanged. Its ``node_events`` merges every node's events websocket into one stream:

- ``NodeUp(node)`` when a node's websocket (re)connects: the app resyncs that node alone;
- ``NodeDown(node)`` when it drops; ``NodeLost(node)`` when it stayed down past ``grace`` seconds (or never came
  up): the app then ends the node's calls in the store (nothing can save them: the RTP ran through that
  Asterisk) and frees its agents' legs; requests skip the node until it connects again;
- agent presence: each node qualifies the agents' phones at Kamailio (an OPTIONS it answers for a registered
  phone only), so every node reports the same phone; one agent's ``EndpointStateChange`` is passed on only when
  the state over all nodes changes (online when any node sees it online), so a second node's report of what the
  first said already never logs an agent in or out twice, and a node going away logs nobody out. A node reports
  a phone only when its state there changes: what each node says of every phone is also taken from the endpoint
  listings (the ACD's, after each connect), so one node's "offline" (cut off from Kamailio, dying) is no logout
  while another node, silent since the start, has the phone online.

Single-node settings (no ``[[kamailio.nodes]]``) keep the plain ``AriClient``: nothing here runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from tvoxcc.ari import AriClient, AriError, AriUnavailable, Conflict, Connected, Disconnected, NotFound, StreamItem
from tvoxcc.ari import events as ev
from tvoxcc.ari.rest import AriHttp
from tvoxcc.ari.websocket import AriEvents
from tvoxcc.config import Settings
from tvoxcc.voice.node_routes import NodeRoutes, Params, Resource, Route, merge, parts_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NodeUp:
    node: str
    reconnect: bool


@dataclass(frozen=True, slots=True)
class NodeDown:
    node: str
    reason: str


@dataclass(frozen=True, slots=True)
class NodeLost:
    node: str


NodeItem = NodeUp | NodeDown | NodeLost


class EventStream(Protocol):
    def __aiter__(self) -> AsyncIterator[StreamItem | NodeItem]: ...

    async def close(self) -> None: ...


class NodeHttp(AriHttp):
    """``AriHttp`` over N nodes: each request to its node (``NodeRoutes``), lists merged, ids learnt."""

    def __init__(self, nodes: Mapping[str, AriHttp], routes: NodeRoutes) -> None:
        # AriHttp's own connection is not made: every request goes to one of ``nodes``.
        self.base_url = ",".join(http.base_url for http in nodes.values())
        self.nodes = dict(nodes)
        self.routes = routes
        self._making: dict[str, asyncio.Lock] = {}  # spread bridge id -> held while it is made on a node

    async def close(self) -> None:
        for http in self.nodes.values():
            await http.close()

    async def request_bytes(self, method: str, path: str) -> bytes:
        route = self.routes.route(method, path, None)
        answer: bytes = await self._one(route, lambda http: http.request_bytes(method, path))
        return answer

    async def request(
        self, method: str, path: str, params: Params | None = None, body: Mapping[str, Any] | None = None
    ) -> Any:
        route = self.routes.route(method, path, params)
        if route.spread is not None:
            return await self._spread(route, route.spread, method, path, params, body)
        if route.merge is not None:
            answers = [await self.nodes[n].request(method, path, params, body) for n in route.every]
            answer = merge(route.merge, answers)
            self._learn_listing(path, route.every, answers)
            return answer
        if route.every:
            return await self._every(route.every, method, path, params, body)
        parts = parts_of(path)
        if parts == ["bridges"] and method == "POST" and self.routes.spreads(params):
            bridge_id = str((params or {}).get("bridgeId") or f"tvoxcc-{uuid.uuid4().hex}")
            node = route.node or self.routes.next_node()
            answer = await self.nodes[node].request(method, path, {**(params or {}), "bridgeId": bridge_id}, body)
            self.routes.new_spread(params, bridge_id, node, answer)
            return answer
        answer = await self._one(route, lambda http: http.request(method, path, params, body))
        self._learn(method, parts, params, route, answer)
        return answer

    async def _one(self, route: Route, send: Any) -> Any:
        """To the route's node, or each node in turn until one has what the request names."""
        if route.node is not None:
            return await send(self.nodes[route.node])
        missing: AriError = AriUnavailable("no Asterisk node is up")
        for node in route.search:
            try:
                answer = await send(self.nodes[node])
            except NotFound as exc:
                missing = exc
                continue
            if route.key is not None:
                self.routes.where[route.key] = node
            return answer
        raise missing

    async def _every(
        self, nodes: tuple[str, ...], method: str, path: str, params: Params | None, body: Mapping[str, Any] | None
    ) -> Any:
        if not nodes:
            raise AriUnavailable("no Asterisk node is up", method=method, path=path)
        answers = [await self.nodes[n].request(method, path, params, body) for n in nodes]
        return answers[0]

    async def _spread(
        self,
        route: Route,
        bridge_id: str,
        method: str,
        path: str,
        params: Params | None,
        body: Mapping[str, Any] | None,
    ) -> Any:
        spread = self.routes.spread[bridge_id]
        if route.node is None:  # done to the bridge itself: on every node that has it, and again where it is made
            if method == "GET":
                return spread.answer
            if method == "DELETE" and len(parts_of(path)) == 2:
                self.routes.spread.pop(bridge_id, None)
                self._making.pop(bridge_id, None)
                for node in route.every:
                    with contextlib.suppress(AriError):
                        await self.nodes[node].request(method, path, params, body)
                return None
            spread.setup.append((method, path, dict(params or {})))
            for node in route.every:
                await self.nodes[node].request(method, path, params, body)
            return None
        http = self.nodes[route.node]
        # Callers entering at once on one node: the first makes the bridge there, the others wait for it.
        async with self._making.setdefault(bridge_id, asyncio.Lock()):
            if route.node not in spread.made:
                with contextlib.suppress(Conflict):  # made there already (by a request that timed out on us)
                    await http.request("POST", "/bridges", spread.params)
                for step in spread.setup:
                    await http.request(*step)
                spread.made.add(route.node)
        return await http.request(method, path, params, body)

    def _learn(self, method: str, parts: list[str], params: Params | None, route: Route, answer: Any) -> None:
        """Note where what a request made lives (and forget what it removed)."""
        node = route.node or (self.routes.where.get(route.key) if route.key else None)
        made = answer.get("id") if isinstance(answer, dict) else None
        given = dict(params or {})
        kind, action = parts[0], parts[2] if len(parts) > 2 else ""
        if node is None:
            return
        if kind == "channels" and len(parts) == 1 and method == "POST":
            self.routes.learn(Resource.CHANNEL, str(given.get("channelId") or made or ""), node)
        elif kind == "channels" and action == "snoop":
            self.routes.learn(Resource.CHANNEL, str(given.get("snoopId") or made or ""), node)
        elif kind == "bridges" and len(parts) == 1 and method == "POST":
            self.routes.learn(Resource.BRIDGE, str(made or ""), node)
        elif kind == "bridges" and len(parts) == 2 and method == "DELETE":
            self.routes.forget(Resource.BRIDGE, parts[1])
        elif action == "play":
            self.routes.learn(Resource.PLAYBACK, str(given.get("playbackId") or made or ""), node)
        elif action == "record":
            self.routes.learn(Resource.RECORDING, str(given.get("name") or ""), node)
        elif kind == "recordings" and len(parts) == 3 and parts[1] == "stored" and method == "DELETE":
            self.routes.forget(Resource.RECORDING, parts[2])

    def _learn_listing(self, path: str, nodes: tuple[str, ...], answers: list[Any]) -> None:
        parts = parts_of(path)
        for node, answer in zip(nodes, answers, strict=True):
            if parts == ["channels"]:
                for channel in answer or ():
                    self.routes.learn(Resource.CHANNEL, str(channel.get("id") or ""), node)
            elif parts[0] == "endpoints":
                for endpoint in answer or ():
                    self.routes.endpoint_listed(node, str(endpoint.get("resource")), str(endpoint.get("state")))
            elif parts[0] == "applications":
                for channel_id in (answer or {}).get("channel_ids", ()):
                    self.routes.learn(Resource.CHANNEL, str(channel_id), node)


class NodesAri(AriClient):
    """An ``AriClient`` over N nodes (``clients``: name -> that node's own client, for per-node resyncs)."""

    def __init__(self, clients: Mapping[str, AriClient], *, grace: float = 5.0, timeout: float = 10.0) -> None:
        first = next(iter(clients.values()))
        self.clients = dict(clients)
        self.routes = NodeRoutes(self.clients)
        self.grace = grace
        http = NodeHttp({name: client.http for name, client in self.clients.items()}, self.routes)
        super().__init__(first.ari_url, first._user, first._password, first.app, timeout=timeout, http=http)

    @classmethod
    def from_node_settings(cls, settings: Settings, *, timeout: float = 10.0) -> NodesAri:
        ast = settings.asterisk
        password = ast.ari_password.get_secret_value()
        clients = {
            node.name: AriClient(
                node_ari_url(settings, node.name), ast.ari_user, password, ast.ari_app, timeout=timeout
            )
            for node in settings.kamailio.nodes
        }
        return cls(clients, grace=settings.voice.node_lost_seconds, timeout=timeout)

    def node(self, name: str) -> AriClient:
        return self.clients[name]

    def node_of(self, channel_id: str) -> str | None:
        return self.routes.node_of(Resource.CHANNEL, channel_id)

    def channels_on(self, node: str) -> list[str]:
        return self.routes.resources_on(node, Resource.CHANNEL)

    def learn_channels(self, node: str, channel_ids: tuple[str, ...]) -> None:
        for channel_id in channel_ids:
            self.routes.learn(Resource.CHANNEL, channel_id, node)

    def forget_node(self, node: str) -> None:
        self.routes.forget_node(node)

    def node_events(self, only: frozenset[str] | None = None) -> NodeEvents:
        return NodeEvents({n: c.events(only=only) for n, c in self.clients.items()}, self.routes, self.grace)

    async def close(self) -> None:
        await self.http.close()


def node_ari_url(settings: Settings, name: str) -> str:
    """A node's ARI URL: its own ``ari_url``, else the [asterisk] one's scheme and port on the node's host."""
    node = settings.kamailio.node(name)
    if node is None:
        raise KeyError(name)
    if node.ari_url:
        return node.ari_url
    scheme, _, rest = settings.asterisk.ari_url.partition("://")
    port = rest.rsplit(":", 1)[1] if ":" in rest else ("443" if scheme == "https" else "80")
    return f"{scheme}://{node.host}:{port}"


def connect_ari(settings: Settings, *, timeout: float = 10.0) -> AriClient:
    """The voice service's ARI: one node per ``[[kamailio.nodes]]`` entry, else the single [asterisk] one."""
    if settings.kamailio.nodes:
        return NodesAri.from_node_settings(settings, timeout=timeout)
    return AriClient.from_settings(settings, timeout=timeout)


class NodeEvents:
    """Every node's events in one stream, with ``NodeUp``/``NodeDown``/``NodeLost`` for each node."""

    def __init__(self, streams: Mapping[str, AriEvents], routes: NodeRoutes, grace: float) -> None:
        self.streams = dict(streams)
        self.routes = routes
        self.grace = grace
        self._queue: asyncio.Queue[StreamItem | NodeItem] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._passed: dict[str, str] = {}  # endpoint resource -> the state over all nodes, as last passed on
        self._failed: Exception | None = None  # a node's stream ended on an error: raised to the app

    def __aiter__(self) -> AsyncIterator[StreamItem | NodeItem]:
        return self._run()

    async def _run(self) -> AsyncIterator[StreamItem | NodeItem]:
        for name, stream in self.streams.items():
            self._tasks.append(asyncio.create_task(self._read(name, stream), name=f"ari-events-{name}"))
            self._timers[name] = asyncio.create_task(self._lose_later(name))  # a node never up is lost too
        while True:
            item = await self._queue.get()
            if self._failed is not None:
                raise self._failed
            yield item

    async def _read(self, node: str, stream: AriEvents) -> None:
        try:
            async for item in stream:
                for out in self.translate(node, item):
                    self._queue.put_nowait(out)
        except Exception as exc:  # a wrong password (never retried): the service stops, as with one node
            self._failed = exc
            self._queue.put_nowait(NodeDown(node, f"{type(exc).__name__}: {exc}"))

    def translate(self, node: str, item: StreamItem) -> list[StreamItem | NodeItem]:
        """One node's item as what the app sees (none, when a node repeats an agent's state)."""
        match item:
            case Connected(reconnect=reconnect):
                timer = self._timers.pop(node, None)
                if timer is not None:
                    timer.cancel()
                self.routes.connected(node)
                return [NodeUp(node, reconnect)]
            case Disconnected(reason=reason):
                self.routes.disconnected(node)
                if node not in self._timers and node not in self.routes.lost:
                    self._timers[node] = asyncio.create_task(self._lose_later(node))
                return [NodeDown(node, reason)]
            case ev.StasisStart(channel=channel):
                self.routes.learn(Resource.CHANNEL, channel.id, node)
            case ev.StasisEnd(channel=channel) | ev.ChannelDestroyed(channel=channel):
                if self.routes.node_of(Resource.CHANNEL, channel.id) == node:
                    self.routes.forget(Resource.CHANNEL, channel.id)
            case ev.PlaybackFinished(playback=playback):
                self.routes.forget(Resource.PLAYBACK, playback.id)
            case ev.EndpointStateChange(endpoint=endpoint):
                overall = self._presence(node, endpoint.resource, endpoint.state)
                if overall is None:
                    return []
                # The state over every node, not this node's: node1's "offline" when node2 has the phone online.
                return [item if overall == endpoint.state else replace(item, endpoint=replace(endpoint, state=overall))]
        return [item]

    def _presence(self, node: str, resource: str, state: str) -> str | None:
        """Record one node's view of an endpoint; the view over every node when it changed, else None."""
        states = self.routes.endpoints.setdefault(resource, {})
        states[node] = state
        seen = [s for n, s in states.items() if n not in self.routes.lost]
        overall = "online" if "online" in seen else state
        if self._passed.get(resource) == overall:
            return None
        self._passed[resource] = overall
        return overall

    async def _lose_later(self, node: str) -> None:
        await asyncio.sleep(self.grace)
        self._timers.pop(node, None)
        if node not in self.routes.up:
            log.warning("ARI node %s: down for %.0f s: lost (its calls are ended)", node, self.grace)
            self.routes.mark_lost(node)
            self._queue.put_nowait(NodeLost(node))

    async def close(self) -> None:
        for task in [*self._tasks, *self._timers.values()]:
            task.cancel()
        for stream in self.streams.values():
            await stream.close()
        await asyncio.gather(*self._tasks, *self._timers.values(), return_exceptions=True)
