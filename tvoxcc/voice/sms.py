"""SMS through the voice service's ARI connection: customers' texts in, agents' replies out.

Asterisk gives a Stasis app the SIP MESSAGEs of the endpoints it subscribed to (res_stasis messaging: an
``endpoint:PJSIP/<trunk>`` subscription is a message destination, so res_pjsip_messaging answers the MESSAGE
202 instead of 404). The subscription is made by an app of its own, ``<app>-sms``, on its own websocket that
takes only TextMessageReceived: an endpoint subscription also forwards every event of the endpoint's channels,
and the calls app, already subscribed to those channels, would get each of their events twice (a DTMF digit
counted twice by the IVR). After every (re)connect the gateway subscribes the trunks again; each text is stored
in its number's lane (tvoxcc.chat.sms_store.receive: joins or opens the SMS chat, which the ACD routes like
any chat). With N Asterisk nodes behind Kamailio (tvoxcc.voice.nodes) the gateway listens on every node, each
with its own websocket and subscriptions: Kamailio's dispatcher hands a text to any node up, as it does calls,
and names the trunk's address for the reply (tvoxcc.chat.sms.SOURCE_HEADER). The replies agents write on the
desktop wait in the store as pending chat messages: the sender loop claims each, sends it with ARI
``sendMessage`` back through the trunk (any node up: the reply goes straight to the trunk, not through
Kamailio), and settles it. It wakes on the store's NOTIFY (PostgreSQL) or its poll, and at start gives back the
claims a dead run left. Each round also brings the SMS interactions of the journey in line with their chats
(answered at the first reply, ended at close).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import select

from tvoxcc.ari import AriClient, AriError, Connected
from tvoxcc.ari import events as ev
from tvoxcc.ari.errors import AriUnavailable
from tvoxcc.chat import sms_store
from tvoxcc.chat.sms import NOTIFY_CHANNEL, Sms, SmsRefused, read_message
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.store.notify import Wake
from tvoxcc.voice.lanes import Lanes
from tvoxcc.voice.nodes import NodesAri

log = logging.getLogger(__name__)

CONTROL_LANE = "sms:connection"


class SmsGateway:
    def __init__(
        self,
        ari: AriClient,
        store: Store,
        clock: Callable[[], datetime],
        lanes: Lanes,
        *,
        endpoints: Sequence[str] = ("caller",),
        poll_s: float = 1.0,
        proxy_host: str | None = None,
    ) -> None:
        self.ari = ari  # replies go out through it (with N nodes: any node up)
        # Texts come in on every node: each node's own client, its own websocket and subscriptions.
        self.nodes: Mapping[str, AriClient] = ari.clients if isinstance(ari, NodesAri) else {"": ari}
        self.proxy_host = proxy_host  # Kamailio's address, when the nodes sit behind it
        self.app = f"{ari.app}-sms"
        self.store = store
        self.clock = clock
        self.lanes = lanes
        self.endpoints = tuple(endpoints)  # besides each tenant's outbound trunk
        self.poll_s = poll_s
        self.wake = Wake()
        self.ready = asyncio.Event()  # set once every node's subscriptions are made after its first connect
        self.subscribed_on: set[str] = set()
        self.received = 0
        self.sent = 0

    # -- in ------------------------------------------------------------------------------------------------

    async def subscribe(self, node: str = "") -> list[str]:
        """Subscribe the node's app to every trunk's messages (after each connect: a new websocket starts bare)."""
        done = []
        for endpoint in await self._trunks():
            try:
                await self.nodes[node].applications.subscribe(self.app, f"endpoint:PJSIP/{endpoint}")
                done.append(endpoint)
            except AriError as exc:
                log.warning("sms: cannot subscribe to endpoint PJSIP/%s%s: %s", endpoint, _on(node), exc)
        self.wake.set()  # replies stored while we were away go out now
        return done

    async def unsubscribe(self) -> None:
        """Before a clean stop: an app that stays subscribed while its websocket is gone still makes Asterisk
        accept texts (202) and drop them; unsubscribed, Asterisk answers 404 and the carrier keeps the text."""
        trunks = await self._trunks()
        for node, client in self.nodes.items():
            for endpoint in trunks:
                try:
                    await client.applications.unsubscribe(self.app, f"endpoint:PJSIP/{endpoint}")
                except AriError as exc:
                    log.warning("sms: cannot unsubscribe from endpoint PJSIP/%s%s: %s", endpoint, _on(node), exc)

    async def run(self) -> None:
        """Read the SMS app's events on every node until cancelled: subscribe after each connect, store each text."""
        async with asyncio.TaskGroup() as listening:
            for node in self.nodes:
                listening.create_task(self._listen(node), name=f"voice-sms-texts{_on(node)}")

    async def _listen(self, node: str) -> None:
        stream = self.nodes[node].events(app=self.app, only=frozenset({"TextMessageReceived"}))
        try:
            async for item in stream:
                match item:
                    case Connected():
                        self.lanes.submit(f"{CONTROL_LANE}:{node}", self._connected(node))
                    case ev.TextMessageReceived():
                        self.on_text(item)
                    case _:
                        pass
        finally:
            await stream.close()

    async def _connected(self, node: str) -> None:
        subscribed = await self.subscribe(node)
        self.subscribed_on.add(node)
        if self.subscribed_on >= set(self.nodes):
            self.ready.set()
        log.info(
            "sms: app %s takes the texts of %s%s", self.app, ", ".join(f"PJSIP/{e}" for e in subscribed), _on(node)
        )

    async def _trunks(self) -> list[str]:
        async with self.store.session() as session:
            rows = await session.execute(select(m.Tenant.outbound).where(m.Tenant.outbound.is_not(None)))
            names = [o["trunk"]["name"] for (o,) in rows.all() if o and isinstance(o.get("trunk"), dict)]
        return sorted(set(self.endpoints) | {str(n) for n in names})

    def on_text(self, event: ev.TextMessageReceived) -> None:
        """Hand the text to its number's lane (texts of one number stored in order, one conversation)."""
        message = event.message
        endpoint = event.endpoint.resource if event.endpoint else ""
        try:
            sms = read_message(
                endpoint, message.sender, message.to, message.body, message.variables, proxy_host=self.proxy_host
            )
        except SmsRefused as exc:
            log.warning("sms: MESSAGE through %s ignored: %s", endpoint or "?", exc)
            return
        self.lanes.submit(f"sms:{sms.number}", self._receive(sms))

    async def _receive(self, sms: Sms) -> None:
        try:
            got = await sms_store.receive(self.store, sms, self.clock())
        except SmsRefused as exc:
            log.warning("sms: text to %s ignored: %s", sms.did, exc)
            return
        self.received += 1
        log.info("sms: chat %d %s (message %d)", got.chat.chat_id, "joined" if got.joined else "opened", got.seq)

    # -- out -----------------------------------------------------------------------------------------------

    async def run_sender(self) -> None:
        """Send pending replies until cancelled."""
        self.wake = await Wake.open(self.store, NOTIFY_CHANNEL)
        try:
            if back := await sms_store.reclaim(self.store):
                log.info("sms: %d reply(ies) claimed by a run that stopped: sending them", back)
            while True:
                try:
                    await self.send_pending()
                    await sms_store.follow_interactions(self.store)
                except Exception as exc:  # the store or Asterisk briefly away: the next round tries again
                    log.warning("sms: sending replies failed: %s: %s", type(exc).__name__, exc)
                await self.wake.wait(self.poll_s)
        finally:
            await self.wake.close()

    async def send_pending(self) -> int:
        """Send every pending reply once; returns how many went out."""
        count = 0
        for reply in await sms_store.pending(self.store):
            if not await sms_store.claim(self.store, reply.message_id):
                continue  # another sender has it
            if reply.route is None:
                await sms_store.settle(self.store, reply, self.clock(), error="the customer's address is unknown")
                continue
            try:
                await self.ari.endpoints.send_message(reply.route.to, reply.route.sender, reply.body)
            except AriUnavailable:
                await sms_store.unclaim(self.store, reply.message_id)  # Asterisk away: it stays to send
                raise
            except AriError as exc:
                await sms_store.settle(self.store, reply, self.clock(), error=str(exc)[:200])
                continue
            await sms_store.settle(self.store, reply, self.clock())
            count += 1
            self.sent += 1
        return count


def _on(node: str) -> str:
    return f" on node {node}" if node else ""
