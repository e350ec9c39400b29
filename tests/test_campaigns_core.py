"""The campaign core without I/O: the abandon ledger, windows, record transitions, pacing and the dialer."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from tvoxcc.campaigns import records as rec
from tvoxcc.campaigns.desk import campaign_of, reservations_wanted
from tvoxcc.campaigns.dialer import Dialer
from tvoxcc.campaigns.events import (
    Abandon,
    AgentAway,
    AgentReady,
    CallEnded,
    Connect,
    ConnectFailed,
    Dial,
    DoNotCall,
    HangUp,
    LineResult,
)
from tvoxcc.campaigns.ledger import AbandonLedger, LedgerEntry
from tvoxcc.campaigns.model import (
    ABANDON_HOLD_S,
    END_OF_DAY,
    AbandonRule,
    CallWindow,
    DialMode,
    LineOutcome,
    MachineAction,
    PacingConfig,
    RecordState,
    RetryRules,
    unanswered_outcome,
)
from tvoxcc.campaigns.pacing import PacingView, predictive_lines, progressive_lines
from tvoxcc.campaigns.spec import SpecError, format_window, parse_window
from tvoxcc.campaigns.windows import NumberError, in_window, normalise, zones_of

MONDAY_NOON_NY = datetime(2026, 12, 7, 17, 0, tzinfo=UTC).timestamp()
NY = ("America/New_York",)


def test_the_ledger_counts_abandons_over_live_answers_in_its_window() -> None:
    ledger = AbandonLedger(AbandonRule.UK_24_HOURS)
    for t in range(97):
        ledger.record(float(t), LedgerEntry.LIVE)
    for t in range(97, 100):
        ledger.record(float(t), LedgerEntry.ABANDONED)
    assert ledger.counts(100.0).rate == pytest.approx(0.03)
    assert ledger.headroom(100.0) == pytest.approx(0.0)
    assert ledger.counts(86_400.0 + 49.5).live == 50  # the first 50 left the 24-hour window
    assert ledger.counts(86_400.0 + 200.0).live == 0


def test_the_us_window_is_thirty_days_and_the_uk_rule_counts_amd_false_positives() -> None:
    us = AbandonLedger(AbandonRule.US_30_DAYS, amd_false_positive_rate=0.1)
    uk = AbandonLedger(AbandonRule.UK_24_HOURS, amd_false_positive_rate=0.1)
    for ledger in (us, uk):
        for t in range(100):
            ledger.record(float(t), LedgerEntry.LIVE)
        for t in range(100, 120):
            ledger.record(float(t), LedgerEntry.MACHINE)
    assert us.counts(200.0).abandoned == 0  # the US rule has no estimate
    assert uk.counts(200.0).abandoned == pytest.approx(2.0)
    assert uk.counts(200.0).live == pytest.approx(102.0)
    assert us.counts(29 * 86_400.0).live == 100
    assert uk.counts(2 * 86_400.0).live == 0
    with pytest.raises(ValueError, match="time order"):
        us.record(1.0, LedgerEntry.LIVE)


def test_a_numbers_zones_come_from_its_geography_else_the_tenants() -> None:
    assert zones_of("+12125551234", "Europe/Rome") == NY
    assert zones_of("+390212345678", "America/Chicago") == ("Europe/Rome",)
    assert zones_of("+80012345678", "Europe/Rome") == ("Europe/Rome",)  # international freephone: no geography
    assert normalise("02 1234 5678", "it") == "+390212345678"
    with pytest.raises(NumberError, match="not a valid number"):
        normalise("123", "IT")


def test_a_window_must_be_open_in_every_zone_the_number_may_be_in() -> None:
    window = CallWindow(days=frozenset(range(5)), start=time(9), end=time(20))
    assert in_window(window, NY, MONDAY_NOON_NY)
    assert not in_window(window, NY, MONDAY_NOON_NY + 9 * 3600)  # 21:00 in New York
    assert not in_window(window, ("Pacific/Honolulu", *NY), MONDAY_NOON_NY)  # 07:00 in Honolulu
    assert not in_window(window, NY, MONDAY_NOON_NY - 2 * 86_400)  # Saturday


def test_a_window_until_24_00_is_open_through_the_last_minute_of_the_day() -> None:
    window = parse_window("mon-sun 00:00-24:00")
    assert window.end == END_OF_DAY and format_window(window) == "mon-sun 00:00-24:00"
    last_minute = datetime(2026, 12, 7, 23, 59, 30, tzinfo=UTC).timestamp()
    assert in_window(window, ("UTC",), last_minute)
    assert in_window(window, ("UTC",), last_minute + 60)  # 00:00:30 the next day
    assert not in_window(parse_window("mon-sun 00:00-23:59"), ("UTC",), last_minute)  # 23:59 ends before it
    with pytest.raises(SpecError, match="24:00"):
        parse_window("mon-sun 24:00-24:00")


def test_records_retry_per_outcome_up_to_their_attempts_then_end() -> None:
    rules = RetryRules(max_attempts=2, busy_s=60.0, machine_s=None, dispositions={"call-later": 3600.0})
    record = rec.Record(1, "+12125551234", NY)
    rec.start_dialing(record)
    rec.line_ended(record, LineOutcome.BUSY, 100.0, rules, MachineAction.RETRY)
    assert (record.state, record.next_at) == (RecordState.PENDING, 160.0)
    rec.start_dialing(record)
    rec.line_ended(record, LineOutcome.BUSY, 200.0, rules, MachineAction.RETRY)
    assert record.state is RecordState.EXHAUSTED and record.final
    machine = rec.Record(2, "+12125551235", NY)
    rec.start_dialing(machine)
    rec.line_ended(machine, LineOutcome.MACHINE, 0.0, rules, MachineAction.RETRY)
    assert machine.state is RecordState.DONE  # machine_s None: final
    talked = rec.Record(3, "+12125551236", NY)
    rec.start_dialing(talked)
    rec.line_ended(talked, LineOutcome.HUMAN, 0.0, rules, MachineAction.RETRY)
    rec.talk_ended(talked, "call-later", 10.0, rules)
    assert (talked.state, talked.next_at, talked.last_outcome) == (RecordState.PENDING, 3610.0, "call-later")
    rec.start_dialing(talked)
    rec.line_ended(talked, LineOutcome.HUMAN, 4000.0, rules, MachineAction.RETRY)
    rec.talk_ended(talked, "sale", 4100.0, rules)
    assert talked.state is RecordState.DONE
    with pytest.raises(rec.TransitionError):
        rec.start_dialing(talked)


def test_a_preview_dial_comes_back_through_the_same_retry_rules() -> None:
    rules = RetryRules(max_attempts=2, busy_s=60.0, no_answer_s=600.0, dispositions={"call-later": 3600.0})
    record = rec.Record(1, "+12125551234", NY)

    def dial(now: float) -> None:
        rec.start_preview(record, now + 600.0)
        rec.preview_dialled(record)
        assert record.state is RecordState.DIALING

    dial(0.0)
    rec.preview_call_over(record, unanswered_outcome(17), None, 100.0, rules)  # Q.850 17: user busy
    assert (record.state, record.attempts, record.next_at, record.last_outcome) == (
        RecordState.PENDING, 1, 160.0, "busy",
    )  # fmt: skip
    dial(200.0)
    rec.preview_call_over(record, None, None, 230.0, rules)  # the agent's phone never answered: no attempt
    assert (record.state, record.attempts, record.next_at) == (RecordState.PENDING, 1, 230.0)
    dial(300.0)
    rec.preview_call_over(record, unanswered_outcome(19), None, 340.0, rules)  # no answer, attempts spent
    assert (record.state, record.attempts, record.last_outcome) == (RecordState.EXHAUSTED, 2, "no-answer")

    talked = rec.Record(2, "+12125551235", NY)
    rec.start_preview(talked, 600.0)
    rec.preview_dialled(talked)
    rec.preview_call_answered(talked, 10.0, rules)
    assert talked.state is RecordState.CONNECTED
    rec.preview_call_over(talked, None, "call-later", 70.0, rules)  # the disposition given during the talk
    assert (talked.state, talked.next_at, talked.last_outcome) == (RecordState.PENDING, 3670.0, "call-later")
    assert unanswered_outcome(34) is LineOutcome.FAILED


def test_an_abandoned_record_waits_at_least_72_hours() -> None:
    record = rec.Record(1, "+12125551234", NY)
    rec.start_dialing(record)
    rec.line_ended(record, LineOutcome.ABANDONED, 0.0, RetryRules(), MachineAction.RETRY)
    assert record.next_at == ABANDON_HOLD_S


def test_unanswered_calls_ring_at_least_15_seconds() -> None:
    with pytest.raises(ValueError, match="15 s"):
        PacingConfig(ring_s=10.0)


def view(**overrides: float) -> PacingView:
    values: dict[str, float] = dict(
        free_agents=5, expected_free=0.0, logged_in=10, lines_in_flight=0, live_rate=0.3, headroom=100.0
    )
    values.update(overrides)
    return PacingView(**values)  # type: ignore[arg-type]


def test_progressive_dials_one_line_per_free_agent() -> None:
    assert progressive_lines(view(free_agents=4)) == 4
    assert progressive_lines(view(free_agents=-1)) == 0


def test_predictive_dials_beyond_the_free_agents_only_within_the_ledgers_headroom() -> None:
    config = PacingConfig(mode=DialMode.PREDICTIVE)
    roomy = predictive_lines(view(), config)
    assert 5 < roomy <= 40
    assert predictive_lines(view(headroom=2.5), config) == 7  # 5 free + 2 abandons of room
    assert predictive_lines(view(headroom=0.4), config) == 5  # no room for one abandon: only the free agents
    assert predictive_lines(view(headroom=-3.0), config) == 5
    assert predictive_lines(view(lines_in_flight=30, headroom=0.0), config) == 30  # never below what rings
    assert predictive_lines(view(expected_free=4.0), config) > roomy  # agents about to free up
    assert predictive_lines(view(live_rate=0.9), config) < roomy
    assert predictive_lines(view(free_agents=0, expected_free=0.0), config) == 0


def build(mode: DialMode, numbers: list[str], **pacing: object) -> Dialer:
    book = rec.RecordBook(rec.Record(i, n, zones_of(n, "UTC"), next_at=0.0) for i, n in enumerate(numbers, 1))
    config = PacingConfig(mode=mode, **pacing)  # type: ignore[arg-type]
    return Dialer(
        config,
        RetryRules(),
        CallWindow(days=frozenset(range(7)), start=time(9), end=time(20)),
        book,
        AbandonLedger(config.rule),
    )


def test_progressive_reserves_the_agent_then_dials_and_connects_that_agent() -> None:
    dialer = build(DialMode.PROGRESSIVE, ["+12125551234", "+12125551235"])
    out = dialer.handle(AgentReady("a1"), MONDAY_NOON_NY)
    assert out == [Dial(1, 1, "+12125551234", 25.0, "a1")]
    assert dialer.handle(AgentReady("a1"), MONDAY_NOON_NY + 1) == []  # reserved: no second line for it
    assert dialer.handle(LineResult(1, LineOutcome.HUMAN), MONDAY_NOON_NY + 5) == [Connect(1, "a1")]
    dialer.handle(CallEnded(1, None), MONDAY_NOON_NY + 60)
    assert dialer.book.records[1].state is RecordState.DONE
    assert dialer.handle(AgentReady("a1"), MONDAY_NOON_NY + 70) == [Dial(2, 2, "+12125551235", 25.0, "a1")]
    assert dialer.handle(LineResult(2, LineOutcome.MACHINE), MONDAY_NOON_NY + 80)[0] == HangUp(2)


def test_a_person_without_an_agent_for_2_s_is_abandoned_and_the_number_held_72_hours() -> None:
    dialer = build(DialMode.PREDICTIVE, ["+12125551234"])
    dialer.ledger.record(0.0, LedgerEntry.LIVE)
    dialer.agents.clear()
    out = dialer.handle(AgentReady("a1"), MONDAY_NOON_NY)
    assert out == [Dial(1, 1, "+12125551234", 25.0, None)]

    dialer.handle(AgentAway("a1"), MONDAY_NOON_NY + 1)
    assert dialer.handle(LineResult(1, LineOutcome.HUMAN), MONDAY_NOON_NY + 5) == []
    assert dialer.next_deadline() == MONDAY_NOON_NY + 7
    assert dialer.tick(MONDAY_NOON_NY + 6.9) == []
    assert dialer.handle(AgentReady("a1"), MONDAY_NOON_NY + 7.2) == [Abandon(1)]  # too late for it
    assert dialer.ledger.counts(MONDAY_NOON_NY + 8).abandoned == 1
    record = dialer.book.records[1]
    assert record.state is RecordState.PENDING and record.next_at >= MONDAY_NOON_NY + 5 + ABANDON_HOLD_S
    assert dialer.holds["+12125551234"] >= MONDAY_NOON_NY + 7 + ABANDON_HOLD_S


def test_the_do_not_call_list_is_checked_when_dialling() -> None:
    dialer = build(DialMode.PROGRESSIVE, ["+12125551234", "+12125551235"])
    dialer.handle(DoNotCall("+12125551234"), MONDAY_NOON_NY)
    assert dialer.handle(AgentReady("a1"), MONDAY_NOON_NY) == [Dial(1, 2, "+12125551235", 25.0, "a1")]
    assert dialer.book.records[1].state is RecordState.DO_NOT_CALL


def test_nothing_is_dialled_outside_the_window() -> None:
    dialer = build(DialMode.PROGRESSIVE, ["+12125551234"])
    night = MONDAY_NOON_NY + 10 * 3600
    assert dialer.handle(AgentReady("a1"), night) == []
    assert dialer.book.records[1].state is RecordState.PENDING


def test_an_agent_who_never_comes_on_the_line_makes_it_an_abandon() -> None:
    dialer = build(DialMode.PROGRESSIVE, ["+12125551234", "+12125551235"])
    dialer.handle(AgentReady("a1"), MONDAY_NOON_NY)
    assert dialer.handle(LineResult(1, LineOutcome.HUMAN), MONDAY_NOON_NY + 5) == [Connect(1, "a1")]
    assert dialer.handle(ConnectFailed(1), MONDAY_NOON_NY + 20) == [Abandon(1)]
    counts = dialer.ledger.counts(MONDAY_NOON_NY + 21)
    assert (counts.live, counts.abandoned) == (1, 1)  # one person, counted once, abandoned
    record = dialer.book.records[1]
    assert (record.state, record.last_outcome) == (RecordState.PENDING, "abandoned")
    assert dialer.holds["+12125551234"] == MONDAY_NOON_NY + 20 + ABANDON_HOLD_S
    assert dialer.agents["a1"].status == "away"  # no campaign call for it until the ACD says it is back
    assert dialer.tick(MONDAY_NOON_NY + 30) == []


def test_a_phone_refusing_the_line_at_once_gives_the_person_to_another_agent_counted_live_once() -> None:
    """Asterisk refuses the agent leg at once (the phone's contact expired): the person, still within the 2 s
    rule, goes first in line to the next agent; the ledger counts one live call and no abandon."""
    dialer = build(DialMode.PREDICTIVE, ["+12125551234", "+12125551235", "+12125551236"])
    dialer.acd_free = (2, 2)
    assert [type(c) for c in dialer.tick(MONDAY_NOON_NY)] == [Dial, Dial]
    dialer.acd_free = (0, 2)
    assert dialer.handle(LineResult(1, LineOutcome.HUMAN), MONDAY_NOON_NY + 5) == []  # waits for the ACD's agent
    assert dialer.handle(AgentReady("a1"), MONDAY_NOON_NY + 5.1) == [Connect(1, "a1")]
    assert dialer.handle(ConnectFailed(1), MONDAY_NOON_NY + 5.2) == []
    assert dialer.waiting == [1] and dialer.agents["a1"].status == "away"
    assert [dialer.book.records[1].state] == [RecordState.DIALING]  # a list: mypy keeps the state unnarrowed
    assert dialer.handle(AgentReady("a2"), MONDAY_NOON_NY + 5.5) == [Connect(1, "a2")]
    counts = dialer.ledger.counts(MONDAY_NOON_NY + 6)
    assert (counts.live, counts.abandoned) == (1, 0)
    assert dialer.book.records[1].state is RecordState.CONNECTED
    assert "+12125551234" not in dialer.holds


def test_a_refused_line_nobody_takes_within_2_s_is_one_abandon_counted_live_once() -> None:
    dialer = build(DialMode.PREDICTIVE, ["+12125551234"])
    dialer.acd_free = (1, 1)
    assert [type(c) for c in dialer.tick(MONDAY_NOON_NY)] == [Dial]
    dialer.acd_free = (0, 1)
    dialer.handle(LineResult(1, LineOutcome.HUMAN), MONDAY_NOON_NY + 5)
    dialer.handle(AgentReady("a1"), MONDAY_NOON_NY + 5.1)
    assert dialer.handle(ConnectFailed(1), MONDAY_NOON_NY + 5.2) == []
    assert dialer.tick(MONDAY_NOON_NY + 7.1) == [Abandon(1)]
    counts = dialer.ledger.counts(MONDAY_NOON_NY + 8)
    assert (counts.live, counts.abandoned) == (1, 1)  # one person, counted once, abandoned
    record = dialer.book.records[1]
    assert (record.state, record.last_outcome) == (RecordState.PENDING, "abandoned")
    assert dialer.holds["+12125551234"] == MONDAY_NOON_NY + 7.1 + ABANDON_HOLD_S


def test_predictive_through_the_acd_paces_on_its_count_and_waits_for_the_agent_it_routes() -> None:
    """With the ACD's count of free agents, an answer is never given to a free agent the dialer knows of: it
    waits for the agent the ACD routes it to (AgentReady), or is abandoned at 2 s."""
    dialer = build(DialMode.PREDICTIVE, ["+12125551234", "+12125551235", "+12125551236"])
    dialer.acd_free = (0, 2)
    assert dialer.tick(MONDAY_NOON_NY) == []  # the ACD has nobody free: no line
    dialer.acd_free = (2, 2)
    out = dialer.tick(MONDAY_NOON_NY + 1)
    assert out == [Dial(1, 1, "+12125551234", 25.0, None), Dial(2, 2, "+12125551235", 25.0, None)]
    dialer.acd_free = (0, 2)
    assert dialer.handle(AgentReady("a1"), MONDAY_NOON_NY + 2) == []  # free in the dialer, nothing waiting
    assert dialer.handle(LineResult(1, LineOutcome.HUMAN), MONDAY_NOON_NY + 5) == []  # not given to a1
    assert dialer.handle(AgentReady("a2"), MONDAY_NOON_NY + 5.5) == [Connect(1, "a2")]  # the ACD's pick
    assert dialer.handle(LineResult(2, LineOutcome.HUMAN), MONDAY_NOON_NY + 6) == []
    assert dialer.tick(MONDAY_NOON_NY + 8.1) == [Abandon(2)]


def test_campaign_items_name_their_campaign_and_reservations_follow_free_agents_and_due_records() -> None:
    assert campaign_of("campaign-12-0a1b2c") == 12
    assert campaign_of("callback-12") is None and campaign_of("campaign-x-1") is None
    assert reservations_wanted(free_agents=3, due_records=1, waiting=0) == 1  # never more than records due
    assert reservations_wanted(free_agents=1, due_records=5, waiting=0) == 1  # never more than agents free
    assert reservations_wanted(free_agents=0, due_records=5, waiting=2) == -2  # agents gone: give two back
