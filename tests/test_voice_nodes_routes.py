"""Where one voice service's ARI requests go over N nodes (tvoxcc.voice.node_routes), and how every node's events
become one stream (tvoxcc.voice.nodes.NodeEvents): pure decisions, no Asterisk (the lab test drives real nodes)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tvoxcc.ari import AriAuthError, AriEvents, Connected, Disconnected
from tvoxcc.ari import events as ev
from tvoxcc.ari.models import Channel, Endpoint
from tvoxcc.config import AsteriskNode, KamailioSettings, Settings, load_settings
from tvoxcc.demo_nodes import nodes_settings
from tvoxcc.voice.node_routes import Merge, NodeRoutes, Resource, merge
from tvoxcc.voice.nodes import (
    NodeDown,
    NodeEvents,
    NodeHttp,
    NodeLost,
    NodesAri,
    NodeUp,
    connect_ari,
    node_ari_url,
)


def routes() -> NodeRoutes:
    r = NodeRoutes(["node1", "node2"])
    r.connected("node1")
    r.connected("node2")
    r.learn(Resource.CHANNEL, "node1-17.1", "node1")
    r.learn(Resource.CHANNEL, "node2-17.1", "node2")
    return r


def test_a_channels_requests_go_to_its_node_and_an_unknown_id_is_searched() -> None:
    r = routes()
    assert r.route("POST", "/channels/node2-17.1/answer", None).node == "node2"
    unknown = r.route("DELETE", "/channels/elsewhere", None)
    assert unknown.node is None and unknown.search == ("node1", "node2") and unknown.key == "channel:elsewhere"


def test_an_agent_leg_is_originated_on_its_callers_node() -> None:
    r = routes()
    params = {"endpoint": "PJSIP/acme-alice", "appArgs": "agentleg,node2-17.1", "channelId": "agentleg-ab"}
    assert r.route("POST", "/channels", params).node == "node2"


def test_a_call_for_nobody_takes_the_nodes_up_in_turn() -> None:
    r = routes()
    picked = {r.route("POST", "/channels", {"endpoint": "PJSIP/x"}).node for _ in range(4)}
    assert picked == {"node1", "node2"}
    r.disconnected("node1")
    assert {r.route("POST", "/channels", {"endpoint": "PJSIP/x"}).node for _ in range(3)} == {"node2"}


def test_a_bridge_named_after_a_caller_is_made_on_its_node_a_queues_bridge_is_spread() -> None:
    r = routes()
    assert r.route("POST", "/bridges", {"type": "mixing", "name": "tvoxcc-call-node2-17.1"}).node == "node2"
    assert not r.spreads({"name": "tvoxcc-call-node1-17.1"})
    assert r.spreads({"name": "tvoxcc-hold-acme/sales"})
    r.new_spread({"type": "holding", "name": "tvoxcc-hold-acme/sales"}, "hold1", "node1", {"id": "hold1"})
    add = r.route("POST", "/bridges/hold1/addChannel", {"channel": "node2-17.1"})
    assert (add.node, add.spread) == ("node2", "hold1")  # made on node2 first (NodeHttp), then the channel added
    moh = r.route("POST", "/bridges/hold1/moh", None)
    assert moh.node is None and moh.every == ("node1",) and moh.spread == "hold1"


def test_lists_are_merged_over_nodes_not_lost_and_subscriptions_go_to_nodes_up() -> None:
    r = routes()
    r.mark_lost("node1")
    listing = r.route("GET", "/channels", None)
    assert (listing.merge, listing.every) == (Merge.LIST, ("node2",))
    r.disconnected("node2")
    assert r.route("GET", "/channels", None).every == ("node2",)  # down, not lost yet: asked (its error says so)
    r.connected("node1")
    assert r.route("POST", "/applications/tvoxcc/subscription", {"eventSource": "x"}).every == ("node1",)


def test_a_lost_nodes_resources_are_forgotten() -> None:
    r = routes()
    r.learn(Resource.PLAYBACK, "node1-17.1:3", "node1")
    assert r.resources_on("node1", Resource.CHANNEL) == ["node1-17.1"]
    r.mark_lost("node1")
    r.forget_node("node1")
    assert r.resources_on("node1", Resource.CHANNEL) == [] and r.node_of(Resource.PLAYBACK, "node1-17.1:3") is None
    assert r.node_of(Resource.CHANNEL, "node2-17.1") == "node2"


def test_merges() -> None:
    assert merge(Merge.LIST, [[1], None, [2, 3]]) == [1, 2, 3]
    app = merge(Merge.APP, [{"name": "t", "channel_ids": ["a"]}, {"name": "t", "channel_ids": ["b", "a"]}])
    assert app == {"name": "t", "channel_ids": ["a", "b"]}
    endpoints = merge(
        Merge.ENDPOINTS,
        [
            [{"technology": "PJSIP", "resource": "alice", "state": "offline"}],
            [{"technology": "PJSIP", "resource": "alice", "state": "online"}],
        ],
    )
    assert endpoints == [{"technology": "PJSIP", "resource": "alice", "state": "online"}]


def test_a_nodes_ari_url_is_the_asterisk_port_on_its_host_unless_given() -> None:
    settings = Settings(
        asterisk={"ari_url": "http://127.0.0.1:8088"},
        kamailio=KamailioSettings(
            nodes=(
                AsteriskNode(name="node1", host="10.0.0.11"),
                AsteriskNode(name="node2", host="10.0.0.12", ari_url="https://ast2.example:8089"),
            )
        ),
    )
    assert node_ari_url(settings, "node1") == "http://10.0.0.11:8088"
    assert node_ari_url(settings, "node2") == "https://ast2.example:8089"


def endpoint_change(resource: str, state: str) -> ev.EndpointStateChange:
    return ev.EndpointStateChange(endpoint=Endpoint("PJSIP", resource, state))


async def test_node_events_up_down_lost_and_presence_over_every_node() -> None:
    r = NodeRoutes(["node1", "node2"])
    events = NodeEvents({}, r, grace=0.05)
    assert events.translate("node1", Connected()) == [NodeUp("node1", False)]
    assert events.translate("node2", Connected()) == [NodeUp("node2", False)]
    start = ev.StasisStart(channel=Channel(id="node1-1.1"))
    assert events.translate("node1", start) == [start] and r.node_of(Resource.CHANNEL, "node1-1.1") == "node1"
    # The same phone reported by both nodes: one login, and one node's "offline" while another has it online is
    # no logout.
    assert events.translate("node1", endpoint_change("acme-alice", "online"))
    assert events.translate("node2", endpoint_change("acme-alice", "online")) == []
    assert events.translate("node1", endpoint_change("acme-alice", "offline")) == []
    assert events.translate("node2", endpoint_change("acme-alice", "offline"))
    # node1's websocket drops and stays down past the grace: lost.
    assert events.translate("node1", Disconnected(reason="reset")) == [NodeDown("node1", "reset")]
    assert await asyncio.wait_for(events._queue.get(), 1.0) == NodeLost("node1")
    assert r.lost == {"node1"}
    # It comes back: in the rotation again, and no loss is reported for a drop shorter than the grace.
    assert events.translate("node1", Connected(reconnect=True)) == [NodeUp("node1", True)]
    events.translate("node2", Disconnected(reason="blip"))
    events.translate("node2", Connected(reconnect=True))
    await asyncio.sleep(0.1)
    assert events._queue.empty() and r.lost == set()
    await events.close()


def passed(items: list[object]) -> list[str]:
    """The phone states an agent's presence is told (the state over every node)."""
    return [item.endpoint.state for item in items if isinstance(item, ev.EndpointStateChange)]


class ListedHttp:
    """A node's ARI answering GET /endpoints/PJSIP with ``states`` (resource -> state)."""

    def __init__(self, states: dict[str, str]) -> None:
        self.base_url, self.states = "http://node", states

    async def request(self, method: str, path: str, params: object = None, body: object = None) -> object:
        return [{"technology": "PJSIP", "resource": name, "state": state} for name, state in self.states.items()]


async def test_one_nodes_offline_is_no_logout_while_a_node_silent_since_the_listing_has_the_phone_online() -> None:
    """node1 cut off from Kamailio (or dying) reports the phone offline; node2 never reported it (its state
    there never changed) but its listing said online: the agent stays in. Before, it was logged out, and for
    good (node2 had nothing new to say)."""
    r = NodeRoutes(["node1", "node2"])
    events = NodeEvents({}, r, grace=30.0)
    events.translate("node1", Connected())
    events.translate("node2", Connected())
    listed = {"node1": ListedHttp({"acme-alice": "online"}), "node2": ListedHttp({"acme-alice": "online"})}
    http = NodeHttp(listed, r)  # type: ignore[arg-type]
    await http.request("GET", "/endpoints/PJSIP")  # the ACD's listing after the connect
    assert passed(events.translate("node1", endpoint_change("acme-alice", "offline"))) in ([], ["online"])
    assert passed(events.translate("node2", endpoint_change("acme-alice", "offline"))) == ["offline"]  # everywhere
    await events.close()


async def test_what_a_reconnected_node_said_of_a_phone_before_is_forgotten() -> None:
    """An Asterisk that reconnects may have restarted (its phones' states at its start are no events): its old
    "online" must not keep an agent in whose phone another node reports offline."""
    r = NodeRoutes(["node1", "node2"])
    events = NodeEvents({}, r, grace=30.0)
    events.translate("node1", Connected())
    events.translate("node2", Connected())
    assert events.translate("node1", endpoint_change("acme-alice", "online"))
    events.translate("node1", Disconnected(reason="restart"))
    events.translate("node1", Connected(reconnect=True))
    assert passed(events.translate("node2", endpoint_change("acme-alice", "offline"))) == ["offline"]
    await events.close()


async def test_the_demos_nodes_settings_make_voice_run_connect_to_every_node(tmp_path: Path) -> None:
    (tmp_path / "tvoxcc.toml").write_text('[asterisk]\nari_url = "http://127.0.0.1:8088"\n\n' + nodes_settings())
    settings = load_settings(tmp_path / "tvoxcc.toml")
    ari = connect_ari(settings)
    assert isinstance(ari, NodesAri)
    assert {name: client.ari_url for name, client in ari.clients.items()} == {
        "node1": "http://192.0.2.101:8088",
        "node2": "http://192.0.2.102:8088",
    }
    plain = connect_ari(settings.model_copy(update={"kamailio": KamailioSettings()}))
    assert not isinstance(plain, NodesAri) and plain.ari_url == "http://127.0.0.1:8088"
    await ari.close()
    await plain.close()


async def test_a_nodes_wrong_password_stops_the_merged_stream() -> None:
    """As with one node, a 401 is not retried: the app's stream raises it (a real HTTP server answering 401)."""

    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=401)

    app = web.Application()
    app.router.add_get("/ari/events", refuse)
    server = TestServer(app)
    await server.start_server()
    try:
        stream = AriEvents(f"http://127.0.0.1:{server.port}", "tvoxcc", "wrong", "tvoxcc")
        events = NodeEvents({"node1": stream}, NodeRoutes(["node1"]), grace=30.0)
        with pytest.raises(AriAuthError):
            async with asyncio.timeout(10):
                async for _ in events:
                    pass
        await events.close()
    finally:
        await server.close()
