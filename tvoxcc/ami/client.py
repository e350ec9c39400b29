"""``AmiClient``: a thin wrapper over panoramisk 1.4's ``Manager`` that adds what it lacks.

panoramisk gaps closed here:
- no timeout on actions: every ``action`` is bounded (``AmiTimeout``) and a timed-out action is
  forgotten, so panoramisk cannot replay it after a reconnect behind the caller's back;
- a wrong secret only sets ``authenticated = False`` and Asterisk's disconnect then makes
  panoramisk reconnect and retry the bad login forever: ``connect`` raises ``AmiAuthError``
  and stops the manager instead;
- a first connect to a dead port starts an endless reconnect loop: ``connect`` raises
  ``AmiUnavailable`` and stops;
- ``reconnect_timeout``/``ping_interval`` are truncated with ``int()``: we set floats;
- an exception in an event callback runs inside ``data_received`` and drops the rest of that
  read; callbacks are isolated and logged.
After a successful first login, reconnect after an Asterisk restart is panoramisk's own loop
(``connection_lost`` -> ``connect`` -> re-login), which we keep; actions pending when the link
drops fail at once with ``AmiUnavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from panoramisk import Manager
from panoramisk.actions import Action

from tvoxcc.ami.errors import AmiActionError, AmiAuthError, AmiTimeout, AmiUnavailable
from tvoxcc.ami.message import AmiMessage, AmiResponse
from tvoxcc.config import Settings

log = logging.getLogger(__name__)

EventCallback = Callable[[AmiMessage], Awaitable[None] | None]
StateCallback = Callable[[str], None]  # "connected" | "logged_in" | "login_failed" | "disconnected"


class _Manager(Manager):  # type: ignore[misc]  # panoramisk is untyped
    """panoramisk's Manager that stays down once we close it."""

    closing = False

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        if self.closing:
            return None
        return super().connect(*args, **kwargs)

    def connection_lost(self, exc: Any) -> None:
        if self.closing:
            self._connected = False
            return
        super().connection_lost(exc)


class AmiClient:
    def __init__(
        self,
        settings: Settings,
        *,
        action_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        reconnect_delay: float = 2.0,
        ping_interval: float = 10.0,
        events: str = "on",
    ) -> None:
        a = settings.asterisk
        self.host, self.port, self.user = a.ami_host, a.ami_port, a.ami_user
        self._secret = a.ami_secret
        self.action_timeout = action_timeout
        self.connect_timeout = connect_timeout
        self.reconnect_delay = reconnect_delay
        self.ping_interval = ping_interval
        self.events = events
        self._manager: _Manager | None = None
        self._callbacks: list[tuple[str, EventCallback]] = []
        self._state_callbacks: list[StateCallback] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.logged_in = False

    # -- lifecycle -------------------------------------------------------------------------
    async def connect(self) -> None:
        """Connect and log in; raises ``AmiUnavailable`` or ``AmiAuthError`` (and stays closed)."""
        if self._manager is not None:
            await self.close()
        manager = _Manager(
            host=self.host,
            port=self.port,
            username=self.user,
            secret=self._secret.get_secret_value(),
            events=self.events,
            loop=asyncio.get_running_loop(),
            log=logging.getLogger("tvoxcc.ami.panoramisk"),
            on_connect=lambda _m: self._set_state("connected"),
            on_login=lambda _m: self._set_state("logged_in"),
            on_disconnect=lambda _m, _exc: self._lost(),
        )
        manager.closing = False
        manager.reconnect_timeout = self.reconnect_delay  # panoramisk would int() it
        manager.ping_delay = manager.ping_interval = self.ping_interval
        self._manager = manager
        for pattern, callback in self._callbacks:
            self._register(pattern, callback)
        try:
            async with asyncio.timeout(self.connect_timeout):
                await manager.connect()
                login = manager.authenticated_future
                if login is None:
                    raise AmiUnavailable("AMI connected but no login was sent")
                response = await asyncio.shield(login)
        except (OSError, TimeoutError) as exc:
            self._stop(manager)
            raise AmiUnavailable(f"AMI {self.host}:{self.port}: {type(exc).__name__} {exc}".rstrip()) from None
        if not response.success:
            self._stop(manager)
            self._set_state("login_failed")
            # Asterisk's message ("Authentication failed") never contains the secret.
            raise AmiAuthError(f"AMI login refused for user {self.user!r} at {self.host}:{self.port}")
        self.logged_in = True
        log.info("AMI logged in to %s:%d as %s", self.host, self.port, self.user)

    async def close(self) -> None:
        if self._manager is not None:
            self._stop(self._manager)
            self._manager = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _stop(self, manager: _Manager) -> None:
        manager.closing = True
        manager.close()
        self._fail_pending(manager)
        self.logged_in = False

    @property
    def connected(self) -> bool:
        return self._manager is not None and bool(self._manager._connected) and self.logged_in

    # -- actions ---------------------------------------------------------------------------
    async def action(self, action: Mapping[str, str | list[str]], timeout: float | None = None) -> AmiResponse:  # noqa: ASYNC109  (per-action timeout is the API)
        """Send ``{"Action": ..., ...}``; raise ``AmiTimeout``, ``AmiUnavailable`` or ``AmiActionError``."""
        manager = self._manager
        if manager is None or not self.connected:
            raise AmiUnavailable("AMI is not connected")
        limit = self.action_timeout if timeout is None else timeout
        act = Action(dict(action))
        name = str(act.get("action", "?"))
        future = manager.send_action(act)
        try:
            raw = await asyncio.wait_for(future, limit)
        except TimeoutError:
            self._forget(manager, act)
            raise AmiTimeout(f"AMI {name}: no response in {limit:g}s") from None
        response = _to_response(raw)
        if response.response.get("response", "").lower() in ("error", "fail", "failure"):
            raise AmiActionError(name, response.message or response.response.content)
        return response

    async def command(self, cli_text: str, timeout: float | None = None) -> str:  # noqa: ASYNC109
        """Run an Asterisk CLI command; returns its output text."""
        response = await self.action({"Action": "Command", "Command": cli_text}, timeout)
        lines = response.response.get_all("output")
        return "\n".join(lines) if lines else response.response.content

    async def ping(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self.action({"Action": "Ping"}, timeout)

    # -- events ----------------------------------------------------------------------------
    def on_event(self, pattern: str, callback: EventCallback) -> None:
        """Call ``callback(message)`` for events whose name matches ``pattern`` (fnmatch, e.g. ``Queue*``)."""
        self._callbacks.append((pattern, callback))
        if self._manager is not None:
            self._register(pattern, callback)

    def on_state(self, callback: StateCallback) -> None:
        """Connection state changes, e.g. to resync after ``logged_in`` following ``disconnected``."""
        self._state_callbacks.append(callback)

    def _register(self, pattern: str, callback: EventCallback) -> None:
        assert self._manager is not None

        def dispatch(_manager: Any, message: Any) -> None:
            try:
                result = callback(AmiMessage.from_panoramisk(message))
            except Exception:
                log.exception("AMI event callback for %s failed", pattern)
                return
            if result is not None:
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._task_done)

        self._manager.register_event(pattern, dispatch)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("AMI event callback failed: %r", task.exception())

    # -- internals -------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state == "logged_in":
            self.logged_in = True
        for callback in self._state_callbacks:
            try:
                callback(state)
            except Exception:
                log.exception("AMI state callback failed")

    def _lost(self) -> None:
        self.logged_in = False
        if self._manager is not None:
            self._fail_pending(self._manager)
        self._set_state("disconnected")

    @staticmethod
    def _forget(manager: _Manager, act: Action) -> None:
        protocol = manager.protocol
        if protocol is not None:
            for key in (act.id, act.action_id):
                protocol.responses.pop(key, None)
        with contextlib.suppress(ValueError):
            manager.awaiting_actions.remove(act)

    @staticmethod
    def _fail_pending(manager: _Manager) -> None:
        # panoramisk would replay these after a reconnect; callers should decide, not the library.
        while manager.awaiting_actions:
            act = manager.awaiting_actions.popleft()
            if not act.future.done():
                act.future.set_exception(AmiUnavailable("AMI connection lost before the response"))


def _to_response(raw: Any) -> AmiResponse:
    if isinstance(raw, list):
        messages = [AmiMessage.from_panoramisk(m) for m in raw]
        return AmiResponse(response=messages[0], events=tuple(messages[1:]))
    return AmiResponse(response=AmiMessage.from_panoramisk(raw))
