"""Agent phones' reachability over ARI, for any number of agents.

The ACD follows each agent's PJSIP endpoint (a subscription of our Stasis app to ``endpoint:PJSIP/<agent>``)
and logs the agent in or out when the endpoint's state changes. Asterisk refuses one subscription request
naming 128 sources or more ("Too many values for event_source": res_ari_applications parses the list into a
128-slot array) and its HTTP server caps a request line at about 4 KB, so we subscribe in chunks of
``MAX_SOURCES`` (and at most ``MAX_QUERY_CHARS`` of query each), check every answer, retry a chunk that failed
for a passing reason (Asterisk restarting, our app not registered yet) with backoff, and isolate the sources
Asterisk refuses (an agent whose endpoint is not rendered yet) so one bad agent never costs the others theirs.
Whatever stays unsubscribed is logged by name and kept in ``missing`` for the next try.
"""

from __future__ import annotations

import asyncio
import logging
import random
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from tvoxcc.ari import AriBadRequest, AriClient, AriError, InvalidRequest
from tvoxcc.backoff import Backoff, Retries
from tvoxcc.chunking import packed

log = logging.getLogger(__name__)

MAX_SOURCES = 50  # well under Asterisk's 127 per request
MAX_QUERY_CHARS = 2000  # well under its ~4 KB request line, URL-encoded
RETRY = Backoff(initial=0.25, factor=2.0, cap=2.0, jitter=0.2)  # short: this runs while events wait


def endpoint_source(agent_id: str) -> str:
    """The event source of an agent's phone (its endpoint, not all of PJSIP: that would repeat every caller's
    DTMF, since an endpoint subscription also delivers its channels' events)."""
    return f"endpoint:PJSIP/{agent_id}"


def agent_of(source: str) -> str:
    return source.removeprefix("endpoint:PJSIP/")


def chunks(sources: Sequence[str], max_count: int = MAX_SOURCES, max_chars: int = MAX_QUERY_CHARS) -> list[list[str]]:
    """``sources`` in order, cut so that no chunk holds more than ``max_count`` sources or ``max_chars`` of
    URL-encoded query (a source longer than that still gets a chunk of its own)."""
    # the encoded comma between sources counts too
    return packed(sources, lambda s: len(urllib.parse.quote(s, safe="")) + 3, max_count=max_count, max_cost=max_chars)


class PresenceChange(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"


def presence_change(previous: str | None, state: str) -> PresenceChange | None:
    """What an endpoint state report means for its agent.

    Asterisk also reports an endpoint's state when its channels change (a feature code call): only a change
    of state logs the agent in or out, so a *72 (log out by hand) is not undone by the phone's next call.
    """
    if previous == state:
        return None
    if state == "online":
        return PresenceChange.LOGIN
    if state == "offline":
        return PresenceChange.LOGOUT
    return None


class PresenceReports:
    """Which agent phones Asterisk reported (events) since a given moment.

    The ACD also lists every phone's state (after each connect, when agents are added): that answer reflects
    the moment it was asked for, and an event handled while it was awaited (events run in lanes of their own)
    is as new or newer. Applied after such an event, a stale "offline" would log out an agent whose phone is
    online, and nothing would log it in again: no node reports a state that did not change. Such a phone's
    entry in the listing is skipped; if the event was the older one, the state that followed it comes as an
    event of its own (each node reports its states in order), so nothing is lost either way.
    """

    def __init__(self) -> None:
        self._count = 0
        self._last: dict[str, int] = {}  # endpoint resource -> the count at its last report

    def report(self, resource: str) -> None:
        self._count += 1
        self._last[resource] = self._count

    def mark(self) -> int:
        """The moment a listing is asked for."""
        return self._count

    def since(self, mark: int, resource: str) -> bool:
        """True when ``resource`` was reported after ``mark``."""
        return self._last.get(resource, 0) > mark


@dataclass
class Subscribed:
    """The outcome of one pass: agents followed, and those not followed with Asterisk's reason."""

    ok: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # agent -> why Asterisk refused it (no such endpoint)
    failed: dict[str, str] = field(default_factory=dict)  # agent -> the last passing error, after every retry


class EndpointSubscriber:
    """Subscribes our app to agents' endpoints in checked chunks; ``missing`` holds those not followed."""

    def __init__(
        self,
        ari: AriClient,
        *,
        backoff: Backoff = RETRY,
        attempts: int = 4,
        chunk_size: int = MAX_SOURCES,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.ari = ari
        self.backoff = backoff
        self.attempts = attempts
        self.chunk_size = chunk_size
        self._sleep = sleep
        self._rng = rng
        self.missing: set[str] = set()  # agents not followed after the last pass (retried by the next one)
        self._reported: frozenset[str] = frozenset()  # what the last error line named: say it once

    async def subscribe(self, agents: Iterable[str]) -> Subscribed:
        """Follow every agent's endpoint (a full pass: ``missing`` becomes what this one could not do)."""
        result = await self._pass(agents)
        self._report(result, set(result.refused) | set(result.failed))
        return result

    async def retry(self) -> bool:
        """Try again the missing agents Asterisk now has an endpoint for (rendered since, or Asterisk back);
        one GET when there is none. True when at least one more agent is followed."""
        try:
            have = {endpoint.resource for endpoint in await self.ari.endpoints.list("PJSIP")}
        except AriError:
            return False
        candidates = self.missing & have
        if not candidates:
            return False
        result = await self._pass(candidates)
        self._report(result, (self.missing - candidates) | set(result.refused) | set(result.failed))
        return bool(result.ok)

    async def _pass(self, agents: Iterable[str]) -> Subscribed:
        result = Subscribed()
        for chunk in chunks([endpoint_source(a) for a in sorted(set(agents))], self.chunk_size):
            await self._chunk(chunk, result)
        return result

    def _report(self, result: Subscribed, missing: set[str]) -> None:
        """Log what is not followed by name, once per change (a retry every few seconds stays quiet)."""
        self.missing = missing
        if missing and frozenset(missing) != self._reported:
            why = {**result.refused, **result.failed}
            log.error(
                "ACD: %d agent phone(s) not followed (their logins are not seen): %s",
                len(missing),
                "; ".join(f"{agent}: {why.get(agent, 'not followed yet')}" for agent in sorted(missing)),
            )
        elif not missing and self._reported:
            log.info("ACD: every agent phone followed again")
        self._reported = frozenset(missing)

    async def _chunk(self, chunk: list[str], result: Subscribed) -> None:
        retries = Retries(
            self.backoff, f"ACD: subscribing {len(chunk)} agent phone(s)", sleep=self._sleep, rng=self._rng
        )
        for attempt in range(self.attempts):
            try:
                await self.ari.applications.subscribe(self.ari.app, chunk)
            except (AriBadRequest, InvalidRequest) as exc:
                # Refused as a whole when any one source is bad: find which, one by one.
                if len(chunk) == 1:
                    result.refused[agent_of(chunk[0])] = exc.message
                    return
                for source in chunk:
                    await self._chunk([source], result)
                return
            except AriError as exc:  # unreachable, 5xx, our app not registered (yet): passing
                if attempt == self.attempts - 1:
                    result.failed.update((agent_of(source), exc.message) for source in chunk)
                    return
                await retries.wait(str(exc))
            else:
                result.ok.extend(agent_of(source) for source in chunk)
                return
