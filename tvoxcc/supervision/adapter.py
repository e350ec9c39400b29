"""Listen sessions over ARI: the supervisor's leg in our Stasis app, snoop channels on the agent's leg.

The voice app (tvoxcc.voice.app) hands over the channels entering Stasis with ``SUPERVISE_ARG`` (a supervisor's
feature code, dialplan/extensions.conf.j2), ``WEB_ARG`` (a web request's supervisor leg, rung by ``ring``) and
``SNOOP_ARG`` (our snoops), their DTMF, and every channel that leaves (the agent's leg ends the session).
The decisions are tvoxcc.supervision.session's; the checks tvoxcc.supervision.rights'; each session's work runs
in its own lane, in the order its events came.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from tvoxcc.ari import AriBadRequest, AriClient, AriError, Conflict, InvalidRequest, NotFound
from tvoxcc.supervision.agent_call import AgentCall, find_agent_call
from tvoxcc.supervision.rights import Target, refusal
from tvoxcc.supervision.session import (
    DropSnoop,
    Finish,
    HangupSupervisor,
    JoinCall,
    ListenSession,
    Mode,
    Origin,
    Phase,
    Refusal,
    Refuse,
    SessionCommand,
    Snoop,
)
from tvoxcc.supervision.store import ListenStore, Request
from tvoxcc.voice.lanes import Lanes
from tvoxcc.web.access import Principal

log = logging.getLogger(__name__)

SUPERVISE_ARG = "tvoxcc-supervise"  # Stasis args: tenant, the phone's agent, mode, extension
WEB_ARG = "tvoxcc-supervise-web"  # Stasis args: the listen_sessions row id
SNOOP_ARG = "tvoxcc-snoop"  # Stasis args: the supervisor's channel id
LISTEN_VAR = "TVOXCC_LISTEN"  # on a supervisor's leg while its session runs: the row id
SNOOP_NAME = "Snoop/"
REFUSED_CONTEXT = "tvoxcc-supervise-refused"  # plays the refusal prompt and hangs up
WEB_POLL_S = 1.0
# A request as the session starts: what was asked, when, its row (0: none yet), who asks, whom.
Asked = tuple[Request, datetime, int, Principal | None, Target | None]


@dataclass
class Live:
    """One session being carried out."""

    row_id: int
    session: ListenSession
    supervisor: str  # the supervisor's channel id
    agent_channel: str = ""
    bridge_id: str | None = None  # the session's own bridge (supervisor + snoop)
    snoops: list[str] = field(default_factory=list)  # live snoop channel ids, oldest first


class Supervision:
    def __init__(self, ari: AriClient, store: ListenStore, clock: Callable[[], datetime], lanes: Lanes) -> None:
        self.ari = ari
        self.store = store
        self.clock = clock
        self.lanes = lanes
        self.sessions: dict[str, Live] = {}  # supervisor channel id -> session
        self.by_agent: dict[str, set[str]] = {}  # agent channel id -> supervisor channel ids
        self._poller: asyncio.Task[None] | None = None

    # -- the voice app's hooks (never wait: each returns at once) --------------------------------------------------

    @staticmethod
    def claims(args: tuple[str, ...]) -> bool:
        return bool(args) and args[0] in (SUPERVISE_ARG, WEB_ARG, SNOOP_ARG)

    def stasis_start(self, channel_id: str, args: tuple[str, ...]) -> None:
        if args[0] == SNOOP_ARG:
            return  # our own snoop: the session bridges it as soon as it made it
        self.lanes.submit(_lane(channel_id), self._begin(channel_id, args))

    def dtmf(self, channel_id: str, digit: str) -> None:
        if channel_id in self.sessions:
            self.lanes.submit(_lane(channel_id), self._apply(channel_id, lambda s: s.digit(digit, self.clock())))

    def owns(self, channel_id: str) -> bool:
        """A supervisor's leg or one of our snoops (not a call the ACD knows)."""
        return channel_id in self.sessions or any(channel_id in live.snoops for live in self.sessions.values())

    def gone(self, channel_id: str) -> None:
        """A channel left: a supervisor's leg ends their session, an agent's leg every session on it."""
        if channel_id in self.sessions:
            self.lanes.submit(_lane(channel_id), self._apply(channel_id, lambda s: s.supervisor_left(self.clock())))
        for supervisor in self.by_agent.get(channel_id, set()).copy():
            self.lanes.submit(_lane(supervisor), self._apply(supervisor, lambda s: s.agent_left(self.clock())))

    # -- web requests: ring the supervisor's phone first ------------------------------------------------------------

    def start(self) -> None:
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll_web(), name="listen-web-requests")

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None

    async def _poll_web(self) -> None:
        while True:
            try:
                for request in await self.store.claim_web_requests():
                    await self._ring(request.row_id, request.phone)
            except Exception:
                log.exception("listen: taking web requests failed")
            await asyncio.sleep(WEB_POLL_S)

    async def _ring(self, row_id: int, phone: str) -> None:
        try:
            await self.ari.channels.originate(
                f"PJSIP/{phone}", app=self.ari.app, app_args=f"{WEB_ARG},{row_id}", caller_id='"Listen" <*80>'
            )
        except AriError as exc:
            log.warning("listen: cannot ring %s for request %d: %s", phone, row_id, exc)

    # -- a session ------------------------------------------------------------------------------------------------

    async def _begin(self, channel_id: str, args: tuple[str, ...]) -> None:
        now = self.clock()
        asked = await (self._from_web(args) if args[0] == WEB_ARG else self._from_phone(args, now))
        if asked is None:
            await self._hangup(channel_id)  # a web request whose row is gone
            return
        request, requested_at, row_id, requester, target = asked
        session = ListenSession(request.mode, requested_at)
        reason = refusal(requester, target)
        call: AgentCall | None = None
        if reason is None and target is not None:
            call = await find_agent_call(self.ari, target.endpoint)
            if call is None:
                reason = Refusal.NOT_ON_CALL
        live = Live(row_id, session, channel_id)
        if reason is not None or call is None:
            commands = session.refuse(reason or Refusal.NOT_ON_CALL, now)
        else:
            live.agent_channel = call.channel_id
            self.sessions[channel_id] = live
            self.by_agent.setdefault(call.channel_id, set()).add(channel_id)
            commands = session.authorise(call.bridge_id, now)
        if row_id:
            await self.store.save(row_id, session, **_who(target))
        else:
            live.row_id = await self.store.open(request, session, target)
        log.info(
            "listen %d: %s -> %s: %s",
            live.row_id,
            request.supervisor,
            target.endpoint if target else request.agent,
            session.refused or session.mode,
        )
        if session.phase is Phase.ACTIVE:
            with contextlib.suppress(AriError):  # what a restarted service finds it by (``take_back``)
                await self.ari.channels.set_variable(channel_id, LISTEN_VAR, str(live.row_id))
        await self._run(live, commands)
        await self.store.save(live.row_id, session)

    async def _from_phone(self, args: tuple[str, ...], now: datetime) -> Asked:
        """Stasis args of a feature code: tenant, the dialling phone's agent, mode, the extension dialled."""
        tenant, phone_agent, mode, extension = [*args[1:], "", "", "", ""][:4]
        requester = await self.store.requester_by_phone(tenant, phone_agent)
        request = Request(
            Origin.PHONE,
            tenant,
            requester.username if requester else phone_agent,
            requester.user_id if requester else None,
            f"{tenant}-{phone_agent}",
            extension,
            extension,
            Mode(mode) if mode in Mode.__members__.values() else Mode.LISTEN,
        )
        return request, now, 0, requester, await self.store.target(tenant, extension=extension)

    async def _from_web(self, args: tuple[str, ...]) -> Asked | None:
        """Stasis args of a web request's supervisor leg: its row id (the row holds the request)."""
        row_id = int(args[1]) if len(args) > 1 and args[1].isdigit() else 0
        found = await self.store.web_request(row_id) if row_id else None
        if found is None:
            return None
        request, requested_at = found
        user_id = request.supervisor_user_id
        requester = await self.store.requester_by_user(user_id) if user_id is not None else None
        return request, requested_at, row_id, requester, await self.store.target(request.tenant, name=request.agent)

    async def take_back(self, channel_id: str) -> None:
        """After a restart: a session's leg or snoop found in our app with nobody carrying it out. The session
        cannot be resumed (its state was in the old process): it ends as ``failed`` and the leg hangs up (the
        supervisor dials again); a snoop is hung up."""
        try:
            channel = await self.ari.channels.get(channel_id)
        except AriError:
            return
        if channel.name.startswith(SNOOP_NAME):
            await self._hangup(channel_id)
            return
        try:
            row = await self.ari.channels.get_variable(channel_id, LISTEN_VAR)
        except AriError:
            return
        if row.isdigit():
            log.info("listen %s: left by the previous run: ended", row)
            await self.store.end_orphan(int(row), self.clock())
            await self._hangup(channel_id)
            with contextlib.suppress(AriError):
                for bridge in await self.ari.bridges.list():
                    if bridge.name == _bridge_name(channel_id):
                        await self.ari.bridges.destroy(bridge.id)

    async def _apply(self, channel_id: str, step: Callable[[ListenSession], list[SessionCommand]]) -> None:
        live = self.sessions.get(channel_id)
        if live is None:
            return
        commands = step(live.session)
        if commands:
            await self._run(live, commands)
            await self.store.save(live.row_id, live.session)

    async def _run(self, live: Live, commands: list[SessionCommand]) -> None:
        for command in commands:
            try:
                await self._execute(live, command)
            except AriError as exc:
                log.warning("listen %d: %s failed: %s", live.row_id, type(command).__name__, exc)
                if live.session.ended_at is None:
                    await self._run(live, live.session.failed(self.clock()))
                return

    async def _execute(self, live: Live, command: SessionCommand) -> None:
        ari = self.ari
        match command:
            case Refuse(reason=reason):
                with contextlib.suppress(NotFound):
                    await ari.channels.set_variable(live.supervisor, "TVOXCC_LISTEN_REFUSED", reason.value)
                    await ari.channels.continue_in_dialplan(live.supervisor, context=REFUSED_CONTEXT, extension="s")
            case Snoop(spy=spy, whisper=whisper, fetch_supervisor=fetch):
                snoop = await ari.channels.snoop(
                    live.agent_channel,
                    spy=spy,
                    whisper=whisper,
                    app_args=f"{SNOOP_ARG},{live.supervisor}",
                    snoop_id=f"tvoxcc-snoop-{uuid.uuid4().hex[:16]}",
                )
                live.snoops.append(snoop.id)
                if live.bridge_id is None:
                    bridge = await ari.bridges.create(type="mixing", name=_bridge_name(live.supervisor))
                    live.bridge_id = bridge.id
                await self._join(live.bridge_id, [snoop.id, live.supervisor] if fetch else [snoop.id])
            case JoinCall(bridge_id=bridge_id):
                await self._join(bridge_id, [live.supervisor])  # Asterisk moves it out of the session's bridge
            case DropSnoop():
                if live.snoops:
                    await self._hangup(live.snoops.pop(0))
            case HangupSupervisor():
                await self._hangup(live.supervisor)
            case Finish():
                self.sessions.pop(live.supervisor, None)
                watchers = self.by_agent.get(live.agent_channel, set())
                watchers.discard(live.supervisor)
                if not watchers:
                    self.by_agent.pop(live.agent_channel, None)
                if live.bridge_id is not None:
                    with contextlib.suppress(AriError):
                        await ari.bridges.destroy(live.bridge_id)

    async def _join(self, bridge_id: str, channels: list[str], attempts: int = 20) -> None:
        # A snoop enters our app a moment after the request that made it returns: until then addChannel
        # answers that the channel is not in Stasis. Retry briefly.
        for attempt in range(attempts):
            try:
                await self.ari.bridges.add_channel(bridge_id, channels)
                return
            except (AriBadRequest, Conflict, InvalidRequest):
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.05)

    async def _hangup(self, channel_id: str) -> None:
        with contextlib.suppress(AriError):
            await self.ari.channels.hangup(channel_id)


def _bridge_name(supervisor_channel: str) -> str:
    return f"tvoxcc-listen-{supervisor_channel}"


def _lane(supervisor_channel: str) -> str:
    return f"listen:{supervisor_channel}"


def _who(target: Target | None) -> dict[str, object]:
    """What a web request's row learns once its agent is found again (the agent may be gone meanwhile)."""
    return {} if target is None else {"tenant_id": target.tenant_id, "agent_extension": target.extension}
