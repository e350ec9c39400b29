"""The dialer of one campaign: agents and lines in, commands out. Pure: every call is given the time.

It owns the campaign's lines and which agent each is for; an agent is given a call only when free (or
reserved for that very line), so no agent is ever offered two. Records are dialled only inside their window
in the called party's local time, never while on the do-not-call list or within 72 h of an abandon.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from tvoxcc.campaigns import records as rec
from tvoxcc.campaigns.events import (
    Abandon,
    AgentAway,
    AgentReady,
    CallEnded,
    Command,
    Connect,
    ConnectFailed,
    Dial,
    Event,
    HangUp,
    LeaveMessage,
    LineResult,
)
from tvoxcc.campaigns.ledger import AbandonLedger, LedgerEntry
from tvoxcc.campaigns.model import (
    ABANDON_HOLD_S,
    CONNECT_WITHIN_S,
    CallWindow,
    DialMode,
    LineOutcome,
    MachineAction,
    PacingConfig,
    RetryRules,
)
from tvoxcc.campaigns.pacing import PacingView, predictive_lines, progressive_lines
from tvoxcc.campaigns.windows import in_window

WINDOW_RECHECK_S = 300.0  # a record outside its window is looked at again this much later
# Priors of the measurements until enough calls are seen (weights in calls): a high live rate dials few lines.
PRIOR_LIVE_RATE, PRIOR_MACHINE_RATE, PRIOR_TALK_S, PRIOR_ANSWER_S, MEMORY = 0.5, 0.5, 180.0, 10.0, 200


class AgentStatus(StrEnum):
    FREE = "free"
    RESERVED = "reserved"  # a line is being dialled for this agent alone
    TALKING = "talking"
    WRAPPING = "wrapping"
    AWAY = "away"


@dataclass(slots=True)
class AgentSlot:
    status: AgentStatus
    since: float
    line: int | None = None


@dataclass(slots=True)
class Line:
    record: rec.Record
    dialled_at: float
    agent: str | None  # reserved agent, then the connected one
    answered_at: float | None = None
    live: bool = False  # counted live in the ledger (given to an agent once): counted once, whatever follows


class Average:
    """A running mean that starts from a prior and forgets slowly (the last MEMORY samples weigh most)."""

    def __init__(self, prior: float, weight: int) -> None:
        self.value, self.count = prior, weight

    def add(self, sample: float) -> None:
        self.count = min(self.count + 1, MEMORY)
        self.value += (sample - self.value) / self.count


class Dialer:
    def __init__(
        self,
        pacing: PacingConfig,
        retry: RetryRules,
        window: CallWindow,
        book: rec.RecordBook,
        ledger: AbandonLedger,
        *,
        do_not_call: Iterable[str] = (),
        holds: dict[str, float] | None = None,
    ) -> None:
        self.pacing, self.retry, self.window, self.book, self.ledger = pacing, retry, window, book, ledger
        self.do_not_call = set(do_not_call)
        self.holds = dict(holds or {})  # number -> not before (abandons)
        self.running = True
        self.agents: dict[str, AgentSlot] = {}
        # Predictive worked through the ACD (tvoxcc.campaigns.desk): the ACD's count of free agents of the
        # campaign's queues paces the lines, and an answer waits for the agent the ACD routes it to
        # (AgentReady) instead of taking a free one here. None: the agents fed in are the whole truth.
        self.acd_free: tuple[int, int] | None = None  # (free, logged in), as the ACD's view last said
        self.lines: dict[int, Line] = {}
        self.waiting: list[int] = []  # answered lines with no agent yet, oldest first
        self.live_rate = Average(PRIOR_LIVE_RATE, 20)
        self.machine_rate = Average(PRIOR_MACHINE_RATE, 20)
        self.talk_s = Average(PRIOR_TALK_S, 5)
        self.answer_s = Average(PRIOR_ANSWER_S, 5)
        self._next_line = 1
        self.changed: set[int] = set()  # records whose state changed since the store last took them

    # -- events ---------------------------------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Command]:
        out: list[Command] = []
        self._expire_waiting(now, out)
        if isinstance(event, AgentReady):
            self._agent_ready(event.agent, now, out)
        elif isinstance(event, AgentAway):
            self._agent_away(event.agent, now)
        elif isinstance(event, LineResult):
            self._line_result(event.line, event.outcome, now, out)
        elif isinstance(event, CallEnded):
            self._call_ended(event.line, event.disposition, now)
        elif isinstance(event, ConnectFailed):
            self._connect_failed(event.line, now, out)
        else:
            self.do_not_call.add(event.number)
        self._pace(now, out)
        return out

    def tick(self, now: float) -> list[Command]:
        out: list[Command] = []
        self._expire_waiting(now, out)
        self._pace(now, out)
        return out

    def next_deadline(self) -> float | None:
        """When the oldest answered line without an agent becomes an abandon (tick then)."""
        return self.lines[self.waiting[0]].answered_at + CONNECT_WITHIN_S if self.waiting else None  # type: ignore[operator]

    def _agent_ready(self, agent: str, now: float, out: list[Command]) -> None:
        slot = self.agents.get(agent)
        if slot is not None and slot.status in (AgentStatus.TALKING, AgentStatus.RESERVED, AgentStatus.FREE):
            return  # taken until its call (or the line dialled for it) is over; free already: keep its idle order
        self.agents[agent] = AgentSlot(AgentStatus.FREE, now)
        if self.waiting:
            self._connect(self.waiting.pop(0), agent, now, out)

    def _agent_away(self, agent: str, now: float) -> None:
        slot = self.agents.get(agent)
        if slot is None or slot.status is AgentStatus.TALKING:
            return  # a talking agent leaves after the call: CallEnded, then the ACD says where it is
        if slot.status is AgentStatus.RESERVED and slot.line is not None:
            self.lines[slot.line].agent = None  # the line goes on; an answer takes any free agent or waits 2 s
        self.agents[agent] = AgentSlot(AgentStatus.AWAY, now)

    def _line_result(self, line_id: int, outcome: LineOutcome, now: float, out: list[Command]) -> None:
        line = self.lines[line_id]
        human = outcome is LineOutcome.HUMAN
        self.live_rate.add(1.0 if human else 0.0)
        self.machine_rate.add(1.0 if outcome is LineOutcome.MACHINE else 0.0)
        if outcome is LineOutcome.MACHINE:
            self.ledger.record(now, LedgerEntry.MACHINE)
        if human:
            self.answer_s.add(now - line.dialled_at)
            line.answered_at = now
            agent = line.agent or (self._longest_free() if self.acd_free is None else None)
            if agent is not None:
                self._connect(line_id, agent, now, out)
            else:
                self.waiting.append(line_id)
            return
        self._release_reserved(line, now)
        rec.line_ended(line.record, outcome, now, self.retry, self.pacing.machine_action)
        self._requeue(line.record)
        del self.lines[line_id]
        if outcome is LineOutcome.MACHINE:
            leave = self.pacing.machine_action is MachineAction.LEAVE_MESSAGE
            out.append(LeaveMessage(line_id) if leave else HangUp(line_id))

    def _call_ended(self, line_id: int, disposition: str | None, now: float) -> None:
        line = self.lines.pop(line_id)
        if line.agent is not None:
            slot = self.agents[line.agent]
            self.talk_s.add(now - slot.since)
            self.agents[line.agent] = AgentSlot(AgentStatus.WRAPPING, now)
        rec.talk_ended(line.record, disposition, now, self.retry)
        self._requeue(line.record)

    def _connect_failed(self, line_id: int, now: float, out: list[Command]) -> None:
        line = self.lines[line_id]
        if line.agent is not None:  # it did not answer: no more campaign calls until the ACD says it is back
            self.agents[line.agent] = AgentSlot(AgentStatus.AWAY, now)
            line.agent = None
        assert line.answered_at is not None
        if now < line.answered_at + CONNECT_WITHIN_S:
            # Its phone refused the line at once (gone from Asterisk since the ACD last heard of it): the person
            # is still within the abandon rule's 2 s, so the line waits for another agent, first in turn.
            rec.agent_refused(line.record)
            self.changed.add(line.record.id)
            self.waiting.insert(0, line_id)
            agent = self._longest_free() if self.acd_free is None else None
            if agent is not None:
                self._connect(self.waiting.pop(0), agent, now, out)
            return
        del self.lines[line_id]
        self.ledger.record(now, LedgerEntry.DROPPED, line.record.number)
        self.holds[line.record.number] = now + ABANDON_HOLD_S
        rec.talk_dropped(line.record, now, self.retry)
        self._requeue(line.record)
        out.append(Abandon(line_id))

    def _connect(self, line_id: int, agent: str, now: float, out: list[Command]) -> None:
        slot = self.agents[agent]
        if not (slot.status is AgentStatus.FREE or (slot.status is AgentStatus.RESERVED and slot.line == line_id)):
            raise AssertionError(f"agent {agent} is {slot.status}: it cannot be given line {line_id}")
        line = self.lines[line_id]
        if line.agent is not None and line.agent != agent:
            self._release_reserved(line, now)
        line.agent = agent
        self.agents[agent] = AgentSlot(AgentStatus.TALKING, now, line_id)
        if not line.live:
            line.live = True
            self.ledger.record(now, LedgerEntry.LIVE)
        rec.line_ended(line.record, LineOutcome.HUMAN, now, self.retry, self.pacing.machine_action)
        self.changed.add(line.record.id)
        out.append(Connect(line_id, agent))

    def _expire_waiting(self, now: float, out: list[Command]) -> None:
        while self.waiting:
            line = self.lines[self.waiting[0]]
            assert line.answered_at is not None
            if now < line.answered_at + CONNECT_WITHIN_S:
                return
            line_id = self.waiting.pop(0)
            del self.lines[line_id]
            # One counted live already (an agent's phone refused it) is an abandon after all: counted live once.
            self.ledger.record(now, LedgerEntry.DROPPED if line.live else LedgerEntry.ABANDONED, line.record.number)
            self.holds[line.record.number] = now + ABANDON_HOLD_S
            rec.line_ended(line.record, LineOutcome.ABANDONED, now, self.retry, self.pacing.machine_action)
            self._requeue(line.record)
            out.append(Abandon(line_id))

    def _requeue(self, record: rec.Record) -> None:
        self.changed.add(record.id)
        self.book.requeue(record)

    def take_changed(self) -> list[rec.Record]:
        changed, self.changed = self.changed, set()
        return [self.book.records[i] for i in sorted(changed)]

    def _release_reserved(self, line: Line, now: float) -> None:
        if line.agent is not None:
            slot = self.agents[line.agent]
            if slot.status is AgentStatus.RESERVED:
                self.agents[line.agent] = AgentSlot(AgentStatus.FREE, now)
            line.agent = None

    def _longest_free(self) -> str | None:
        free = [(s.since, a) for a, s in self.agents.items() if s.status is AgentStatus.FREE]
        return min(free)[1] if free else None

    # -- pacing ---------------------------------------------------------------------------------------------

    def _pace(self, now: float, out: list[Command]) -> None:
        if not self.running or self.pacing.mode is DialMode.PREVIEW:
            return
        if self.pacing.mode is DialMode.PROGRESSIVE:
            free = sorted((s.since, a) for a, s in self.agents.items() if s.status is AgentStatus.FREE)
            agents: list[str | None] = [a for _, a in free]
            wanted = progressive_lines(self.view(now))
        else:
            wanted = predictive_lines(self.view(now), self.pacing) - self.ringing()
            agents = [None] * max(wanted, 0)
        for agent in agents[: max(wanted, 0)]:
            record = self._next_record(now)
            if record is None:
                return
            self._dial(record, agent, now, out)

    def view(self, now: float) -> PacingView:
        counts = {status: 0 for status in AgentStatus}
        soon = 0
        horizon = self.answer_s.value
        for slot in self.agents.values():
            counts[slot.status] += 1
            if slot.status is AgentStatus.WRAPPING and slot.since + self.pacing.wrapup_s <= now + horizon:
                soon += 1
        talking_ends = counts[AgentStatus.TALKING] * (1.0 - math.exp(-horizon / max(self.talk_s.value, 1.0)))
        free, logged_in = counts[AgentStatus.FREE], len(self.agents) - counts[AgentStatus.AWAY]
        if self.acd_free is not None:
            free, logged_in = self.acd_free
        return PacingView(
            free_agents=free - len(self.waiting),
            expected_free=soon + talking_ends,
            logged_in=logged_in,
            lines_in_flight=self.ringing(),
            live_rate=self.live_rate.value,
            # Not crediting the people still to answer (an abandon can come before them); debiting the machines
            # still to answer (under the UK rule each adds its false-positive share to the abandons).
            headroom=self.ledger.headroom(now, 0.0, self.ringing() * self.machine_rate.value),
        )

    def ringing(self) -> int:
        return sum(1 for line in self.lines.values() if line.answered_at is None)

    def _next_record(self, now: float) -> rec.Record | None:
        for record in self.book.due(now):
            if record.number in self.do_not_call:
                rec.block_do_not_call(record)
                self.changed.add(record.id)
                continue
            hold = self.holds.get(record.number, 0.0)
            if hold > now:
                record.next_at = hold
            elif not in_window(self.window, record.zones, now):
                record.next_at = now + WINDOW_RECHECK_S
            else:
                return record
            self.book.requeue(record)
        return None

    def _dial(self, record: rec.Record, agent: str | None, now: float, out: list[Command]) -> None:
        line_id, self._next_line = self._next_line, self._next_line + 1
        rec.start_dialing(record)
        self.changed.add(record.id)
        self.lines[line_id] = Line(record, now, agent)
        if agent is not None:
            self.agents[agent] = AgentSlot(AgentStatus.RESERVED, now, line_id)
        out.append(Dial(line_id, record.id, record.number, self.pacing.ring_s, agent))
