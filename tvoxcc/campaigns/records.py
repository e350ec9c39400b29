"""A campaign record's life: pending -> dialing -> connected -> a final state, or back to pending for a retry.

The transitions are the only place a record's state changes; RecordBook keeps the pending ones in due order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from tvoxcc.campaigns.model import FINAL_STATES, LineOutcome, MachineAction, RecordState, RetryRules


class TransitionError(ValueError):
    pass


@dataclass(slots=True)
class Record:
    id: int
    number: str  # E.164
    zones: tuple[str, ...]  # where the number may be (tvoxcc.campaigns.windows.zones_of)
    state: RecordState = RecordState.PENDING
    attempts: int = 0
    next_at: float = 0.0
    last_outcome: str | None = None  # a LineOutcome or, after a talk, the disposition code

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


def start_dialing(record: Record) -> None:
    _expect(record, RecordState.PENDING)
    record.state = RecordState.DIALING
    record.attempts += 1


def start_preview(record: Record, hold_until: float) -> None:
    """Shown to an agent (preview): theirs until they dial or skip it, or until ``hold_until`` (then anyone's)."""
    _expect(record, RecordState.PENDING)
    record.state = RecordState.PREVIEWING
    record.next_at = hold_until


def preview_dialled(record: Record) -> None:
    """The agent dialled it from the desktop (a click-to-call): one attempt, dialling as the dialer's lines are;
    the call's outcome comes back through ``preview_call_answered`` and ``preview_call_over``."""
    _expect(record, RecordState.PREVIEWING)
    record.state = RecordState.DIALING
    record.attempts += 1


def preview_call_answered(record: Record, now: float, rules: RetryRules) -> None:
    """The customer answered the agent's click-to-call: the agent is talking to the record."""
    line_ended(record, LineOutcome.HUMAN, now, rules, MachineAction.RETRY)


def preview_call_over(
    record: Record, unanswered: LineOutcome | None, disposition: str | None, now: float, rules: RetryRules
) -> None:
    """The agent's click-to-call of a previewed record ended. Talked (connected): as a dialer's talk, with the
    disposition given meanwhile, if any. Else the customer's line ended ``unanswered`` (busy, no answer, failed)
    and the retry rules say when to call again, as for a dialer's line; None: the customer was never dialled (the
    agent's phone not answered, the agent busy, the request expired): not an attempt, the record is due now."""
    if record.state is RecordState.CONNECTED:
        talk_ended(record, disposition, now, rules)
    elif unanswered is None:
        _expect(record, RecordState.DIALING)
        record.state, record.attempts, record.next_at = RecordState.PENDING, record.attempts - 1, now
    else:
        line_ended(record, unanswered, now, rules, MachineAction.RETRY)


def preview_skipped(record: Record, reason: str, now: float, rules: RetryRules) -> None:
    """The agent skipped it with ``reason``: the reason's retry rule (as a disposition's), else it is final."""
    _expect(record, RecordState.PREVIEWING)
    record.last_outcome = "skipped"
    delay = rules.dispositions.get(reason)
    if delay is None:
        record.state = RecordState.DONE
    else:
        record.state = RecordState.PENDING
        record.next_at = now + delay


def block_do_not_call(record: Record) -> None:
    _expect(record, RecordState.PENDING)
    record.state = RecordState.DO_NOT_CALL
    record.last_outcome = RecordState.DO_NOT_CALL.value


def line_ended(record: Record, outcome: LineOutcome, now: float, rules: RetryRules, machine: MachineAction) -> None:
    """A dialled line ended without reaching an agent (or reached one: HUMAN, then connected)."""
    _expect(record, RecordState.DIALING)
    record.last_outcome = outcome.value
    if outcome is LineOutcome.HUMAN:
        record.state = RecordState.CONNECTED
        return
    if outcome is LineOutcome.MACHINE and machine is not MachineAction.RETRY:
        record.state = RecordState.DONE
        return
    _retry_or_end(record, rules.delay_for(outcome), now, rules)


def talk_ended(record: Record, disposition: str | None, now: float, rules: RetryRules) -> None:
    """The agent's call with the record ended; the disposition (if any) says whether to call again."""
    _expect(record, RecordState.CONNECTED)
    record.last_outcome = disposition or "talked"
    delay = rules.dispositions.get(disposition) if disposition is not None else None
    if delay is None:
        record.state = RecordState.DONE
        return
    _retry_or_end(record, delay, now, rules)


def disposed(record: Record, disposition: str, now: float, rules: RetryRules) -> None:
    """The agent gave the talk's disposition at wrap-up, after the talk ended (done, "talked"): the
    campaign's rule for that disposition may call the record again."""
    if record.state is not RecordState.DONE or record.last_outcome != "talked":
        raise TransitionError(f"record {record.id} is {record.state} ({record.last_outcome}), not a talk just ended")
    record.state = RecordState.CONNECTED
    talk_ended(record, disposition, now, rules)


def agent_refused(record: Record) -> None:
    """Connected to an agent whose phone refused the line before ringing: the person waits for another agent."""
    _expect(record, RecordState.CONNECTED)
    record.state = RecordState.DIALING


def talk_dropped(record: Record, now: float, rules: RetryRules) -> None:
    """Connected to an agent who never came on the line: an abandoned call after all."""
    _expect(record, RecordState.CONNECTED)
    record.last_outcome = LineOutcome.ABANDONED.value
    _retry_or_end(record, rules.delay_for(LineOutcome.ABANDONED), now, rules)


def _retry_or_end(record: Record, delay: float | None, now: float, rules: RetryRules) -> None:
    if delay is None:
        record.state = RecordState.DONE
    elif record.attempts >= rules.max_attempts:
        record.state = RecordState.EXHAUSTED
    else:
        record.state = RecordState.PENDING
        record.next_at = now + delay


def back_to_pending(record: Record) -> None:
    """An offer (preview) or a line (dialing) the process lost: the record is due again."""
    if record.state in (RecordState.PREVIEWING, RecordState.DIALING):
        record.state = RecordState.PENDING


def _expect(record: Record, state: RecordState) -> None:
    if record.state is not state:
        raise TransitionError(f"record {record.id} is {record.state}, not {state}")


class RecordBook:
    """The campaign's records; pending ones in (next_at, id) order for the dialer to take."""

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self.records: dict[int, Record] = {}
        self._due: list[tuple[float, int]] = []
        for record in records:
            self.add(record)

    def add(self, record: Record) -> None:
        self.records[record.id] = record
        if record.state is RecordState.PENDING:
            heapq.heappush(self._due, (record.next_at, record.id))

    def requeue(self, record: Record) -> None:
        """After a transition: a record back to pending is due again at its next_at."""
        if record.state is RecordState.PENDING:
            heapq.heappush(self._due, (record.next_at, record.id))

    def due(self, now: float) -> Iterator[Record]:
        """Pending records due by now, earliest first; each is taken off the due list (requeue to put it back)."""
        while self._due and self._due[0][0] <= now:
            next_at, record_id = heapq.heappop(self._due)
            record = self.records[record_id]
            if record.state is RecordState.PENDING and record.next_at == next_at:
                yield record

    def next_due_at(self) -> float | None:
        return self._due[0][0] if self._due else None

    def count_due(self, now: float) -> int:
        """How many pending records are due by now (nothing taken off the due list)."""
        return sum(
            1
            for next_at, record_id in self._due
            if next_at <= now
            and self.records[record_id].state is RecordState.PENDING
            and self.records[record_id].next_at == next_at
        )

    def open_records(self) -> int:
        return sum(1 for r in self.records.values() if not r.final)
