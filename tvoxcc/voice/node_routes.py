"""Which Asterisk node each ARI request goes to, when one voice service drives N nodes (no I/O here).

Every ARI resource lives on one node: a channel where it entered (its StasisStart came on that node's
websocket, or we originated it there), a bridge, playback or recording where it was made. ``NodeRoutes`` keeps
that map and says, for each request (method, path, params), where it goes:

- a resource's own path (``/channels/ID/...``, ``/bridges/ID``, ``/playbacks/ID``, ``/recordings/*/NAME``) goes
  to its node; an id no node is known for is looked for node after node (the first that has it keeps it);
- a new channel goes where the channel it is for lives (an agent leg is originated on its caller's node, named
  in ``appArgs``; Kamailio takes it to the phone wherever it registered); one for nobody (a campaign line, a
  callback) takes the next node up, in turn;
- a bridge named after a channel (``tvoxcc-call-<caller>``) is made on that channel's node; any other (a queue's
  holding bridge, shared by callers on every node) is a *spread* bridge: one id, made on each node the first
  time a channel of that node joins it, with what was done to it so far (music on hold) done there too;
- lists (channels, bridges, the app's channels, endpoints) are merged over every node not lost; subscriptions go
  to every node up (a node coming back is subscribed again by the resync that follows its reconnect).

A node whose events websocket stays down past the grace is *lost*: requests skip it, and its calls are ended
by the voice app (tvoxcc.voice.app); it is back in the rotation once its websocket connects again.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

Params = Mapping[str, str | int | float | bool | None]


class Resource(StrEnum):
    CHANNEL = "channel"
    BRIDGE = "bridge"
    PLAYBACK = "playback"
    RECORDING = "recording"


class Merge(StrEnum):
    """How answers of every node are put together."""

    LIST = "list"  # JSON lists concatenated (channels, bridges, stored recordings)
    APP = "app"  # an application's channel/bridge/endpoint ids
    ENDPOINTS = "endpoints"  # one entry per endpoint, online when any node has it online


def key(resource: Resource, ident: str) -> str:
    return f"{resource}:{ident}"


@dataclass
class Spread:
    """A bridge shared by every node (tvoxcc's queues hold callers of any node): one id, made where needed."""

    params: dict[str, Any]  # how it was created (type, name, its id)
    answer: Any  # Asterisk's JSON for it, from the first node that made it
    made: set[str] = field(default_factory=set)
    setup: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # done to it since: done anew


@dataclass(frozen=True)
class Route:
    """Where one request goes: ``node`` (one), else ``search`` (one after the other until one has it), else
    ``merge`` over ``nodes``, else ``every`` node in ``nodes`` (first answer kept)."""

    node: str | None = None
    search: tuple[str, ...] = ()
    merge: Merge | None = None
    every: tuple[str, ...] = ()
    key: str | None = None  # the resource the request names (learnt on the node that answered a search)
    spread: str | None = None  # a spread bridge's id: made on ``node`` first when not yet there


def parts_of(path: str) -> list[str]:
    return [unquote(p) for p in path.strip("/").split("/")]


def channel_named(params: Params | None, name: str = "channel") -> str | None:
    value = (params or {}).get(name)
    return str(value).split(",", 1)[0] if value else None


class NodeRoutes:
    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(names)
        self.up: set[str] = set()  # events websocket connected
        self.lost: set[str] = set()  # websocket down past the grace: skipped until it connects again
        self.where: dict[str, str] = {}  # key(resource, id) -> node
        self.spread: dict[str, Spread] = {}  # spread bridge id -> what it is
        # endpoint resource -> node -> its state there: from the node's events, else from a listing (tvoxcc.voice.nodes)
        self.endpoints: dict[str, dict[str, str]] = {}
        self._turn = itertools.count()

    # -- the nodes' states

    def live(self) -> tuple[str, ...]:
        """Every node not lost, in configured order."""
        return tuple(n for n in self.names if n not in self.lost)

    def next_node(self) -> str:
        """The next node up, in turn (the first configured one when none is up: its error says why)."""
        up = [n for n in self.names if n in self.up] or list(self.live()) or list(self.names)
        return up[next(self._turn) % len(up)]

    def connected(self, node: str) -> None:
        self.up.add(node)
        self.lost.discard(node)
        for states in self.endpoints.values():  # it may have restarted: what it said of phones is unknown again
            states.pop(node, None)

    def disconnected(self, node: str) -> None:
        self.up.discard(node)

    def mark_lost(self, node: str) -> None:
        self.up.discard(node)
        self.lost.add(node)

    def endpoint_listed(self, node: str, resource: str, state: str) -> None:
        """A node's listing named a phone's state: taken where that node's events said nothing yet (an event
        handled while the listing was awaited is as new or newer)."""
        self.endpoints.setdefault(resource, {}).setdefault(node, state)

    def resources_on(self, node: str, resource: Resource) -> list[str]:
        prefix = f"{resource}:"
        return [k.removeprefix(prefix) for k, n in self.where.items() if n == node and k.startswith(prefix)]

    def forget_node(self, node: str) -> None:
        """A lost node's resources are gone with it (an Asterisk that comes back has none of them)."""
        self.where = {k: n for k, n in self.where.items() if n != node}
        for spread in self.spread.values():
            spread.made.discard(node)

    # -- what lives where

    def learn(self, resource: Resource, ident: str | None, node: str) -> None:
        if ident:
            self.where[key(resource, ident)] = node

    def forget(self, resource: Resource, ident: str) -> None:
        self.where.pop(key(resource, ident), None)

    def node_of(self, resource: Resource, ident: str) -> str | None:
        return self.where.get(key(resource, ident))

    def channel_in(self, text: str) -> str | None:
        """The node of a known channel named in ``text`` (``agentleg,<caller id>``, ``tvoxcc-call-<caller id>``)."""
        for word in text.split(","):
            pieces = word.split("-")
            for i in range(len(pieces)):
                node = self.node_of(Resource.CHANNEL, "-".join(pieces[i:]))
                if node is not None:
                    return node
        return None

    def _at(self, resource: Resource, ident: str) -> Route:
        k = key(resource, ident)
        node = self.where.get(k)
        return Route(node=node, key=k) if node is not None else Route(search=self.live(), key=k)

    # -- where a request goes

    def route(self, method: str, path: str, params: Params | None) -> Route:
        parts = parts_of(path)
        kind, rest = parts[0], parts[1:]
        if kind == "channels":
            return self._channels(method, rest, params)
        if kind == "bridges":
            return self._bridges(method, rest, params)
        if kind == "playbacks" and rest:
            return self._at(Resource.PLAYBACK, rest[0])
        if kind == "recordings" and len(rest) >= 2:
            return self._at(Resource.RECORDING, rest[1])
        if kind == "recordings" and method == "GET":
            return Route(merge=Merge.LIST, every=self.live())
        if kind == "applications" and len(rest) == 1 and method == "GET":
            return Route(merge=Merge.APP, every=self.live())
        if kind == "applications":
            return Route(every=tuple(n for n in self.names if n in self.up) or self.live())
        if kind == "endpoints" and method == "GET" and len(rest) <= 1:
            return Route(merge=Merge.ENDPOINTS, every=self.live())
        return Route(node=self.next_node())

    def _channels(self, method: str, rest: list[str], params: Params | None) -> Route:
        if not rest:
            if method == "GET":
                return Route(merge=Merge.LIST, every=self.live())
            for name in ("appArgs", "otherChannelId", "originator"):
                node = self.channel_in(str((params or {}).get(name) or ""))
                if node is not None:
                    return Route(node=node)
            return Route(node=self.next_node())
        return self._at(Resource.CHANNEL, rest[0])

    def _bridges(self, method: str, rest: list[str], params: Params | None) -> Route:
        if not rest:
            if method == "GET":
                return Route(merge=Merge.LIST, every=self.live())
            node = self.channel_in(str((params or {}).get("name") or ""))
            return Route(node=node or self.next_node())
        bridge_id = rest[0]
        spread = self.spread.get(bridge_id)
        if spread is None:
            return self._at(Resource.BRIDGE, bridge_id)
        action = rest[1] if len(rest) > 1 else ""
        channel = channel_named(params)
        if action in ("addChannel", "removeChannel") and channel is not None:
            node = self.node_of(Resource.CHANNEL, channel) or self.next_node()
            return Route(node=node, spread=bridge_id)
        return Route(every=tuple(n for n in self.names if n in spread.made and n not in self.lost), spread=bridge_id)

    def new_spread(self, params: Params | None, bridge_id: str, node: str, answer: Any) -> None:
        self.spread[bridge_id] = Spread({**(params or {}), "bridgeId": bridge_id}, answer, {node})

    def spreads(self, params: Params | None) -> bool:
        """A bridge about to be created is spread when it is named after no channel we know."""
        return self.channel_in(str((params or {}).get("name") or "")) is None


def merge(how: Merge, answers: list[Any]) -> Any:
    """Every node's answer to one GET, as one answer."""
    if how is Merge.LIST:
        return [entry for answer in answers for entry in answer or ()]
    if how is Merge.APP:
        merged: dict[str, Any] = {}
        for answer in answers:
            for name, value in (answer or {}).items():
                if isinstance(value, list):
                    merged[name] = list(dict.fromkeys([*merged.get(name, []), *value]))
                else:
                    merged.setdefault(name, value)
        return merged
    endpoints: dict[tuple[str, str], dict[str, Any]] = {}
    for answer in answers:
        for entry in answer or ():
            ident = (str(entry.get("technology")), str(entry.get("resource")))
            seen = endpoints.get(ident)
            if seen is None or (entry.get("state") == "online" and seen.get("state") != "online"):
                endpoints[ident] = entry
    return list(endpoints.values())
