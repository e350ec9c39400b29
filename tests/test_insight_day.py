"""A scripted day at a two-queue tenant in Rome, and the figures worked out by hand for it.

The data lives here as plain values so the store and CLI tests can insert the very same day.
Day D = 2026-03-10 (CET, UTC+1). Thresholds: SL 20 s, short abandon 5 s. Wrap-up: sales 10 s, support 30 s.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tvoxcc.insight.buckets import split
from tvoxcc.insight.figures import totals
from tvoxcc.insight.metrics import compute, first_contact_resolution
from tvoxcc.insight.model import (
    CallbackRequest,
    Contact,
    Dataset,
    Dimension,
    Event,
    Interval,
    NpsScore,
    Params,
    SlaBreach,
    Ticket,
    TicketPost,
)

ROME = ZoneInfo("Europe/Rome")


def t(clock: str, day: int = 10) -> datetime:
    h, m, s = (int(x) for x in clock.split(":"))
    return datetime(2026, 3, day, h, m, s, tzinfo=ROME)


D, D1 = t("00:00:00"), t("00:00:00", 11)
QUEUE_SERVICE = {"sales": "s-sales", "support": "s-care"}


def c(id_: int, queue: str | None, offered: str, answered: str | None, ended: str, **kw: object) -> Contact:
    end_day = kw.pop("end_day", 10)
    service = QUEUE_SERVICE.get(queue or "", "s-sales")
    return Contact(
        id=id_,
        channel=str(kw.pop("channel", "voice")),
        offered_at=t(offered),
        service=service,
        queue=queue,
        agent=kw.pop("agent", None),  # type: ignore[arg-type]
        answered_at=t(answered) if answered else None,
        ended_at=t(ended, int(end_day)),  # type: ignore[call-overload]
        outcome=str(kw.pop("outcome", "answered" if answered else "abandoned")),
    )


CONTACTS = (
    c(1, "sales", "09:00:00", "09:00:10", "09:05:10", agent="mario"),  # wait 10, talk 300, wrap 15 measured
    c(2, "sales", "09:10:00", "09:10:30", "09:12:30", agent="mario"),  # wait 30 > SL, talk 120, wrap 10 (queue)
    c(3, "sales", "09:20:00", None, "09:20:03"),  # short abandon (3 s)
    c(4, "sales", "09:30:00", None, "09:30:15"),  # abandon within SL (15 s)
    c(5, "sales", "09:40:00", None, "09:41:00"),  # abandon (60 s)
    # spans midnight: counted on D, talk 600 whole, wait exactly 20 s = within SL, wrap 30 (queue)
    c(6, "support", "23:58:00", "23:58:20", "00:08:20", agent="luigi", end_day=11),
    c(7, "support", "10:00:00", "10:00:05", "10:03:05", agent="luigi", outcome="transferred"),  # wrap 40 (value)
    c(8, None, "11:00:00", None, "11:01:00", outcome="abandoned-in-ivr"),  # never queued: not offered
    c(9, "sales", "12:00:00", None, "12:01:05", outcome="callback"),  # became a callback: not abandoned
    c(10, "support", "13:00:00", "13:30:00", "13:40:00", agent="mario", channel="mail"),  # wait 1800, talk 600
)

# The ACD's agent-status events (the router's derived state of each agent), in order per agent.
STATES = (
    ("mario", "23:00:00", 9, "paused"),  # the meeting pause still running at midnight
    ("mario", "00:30:00", 10, "available"),
    ("mario", "01:00:00", 10, "logged-out"),
    ("mario", "08:45:00", 10, "available"),
    ("mario", "09:00:10", 10, "busy"),  # call 1
    ("mario", "09:05:10", 10, "wrap-up"),
    ("mario", "09:05:25", 10, "available"),
    ("mario", "09:10:30", 10, "busy"),  # call 2
    ("mario", "09:12:30", 10, "wrap-up"),
    ("mario", "09:12:40", 10, "available"),
    ("mario", "12:30:00", 10, "paused"),  # lunch
    ("mario", "13:15:00", 10, "available"),
    ("mario", "13:30:00", 10, "busy"),  # mail 10
    ("mario", "13:40:00", 10, "wrap-up"),
    ("mario", "13:40:30", 10, "available"),
    ("mario", "17:00:00", 10, "logged-out"),
    ("luigi", "09:00:00", 10, "available"),
    ("luigi", "09:10:00", 10, "reserved"),  # ringing for call 2, then RONA
    ("luigi", "09:10:15", 10, "available"),
    ("luigi", "10:00:05", 10, "busy"),  # call 7
    ("luigi", "10:03:05", 10, "wrap-up"),
    ("luigi", "10:03:45", 10, "available"),
    ("luigi", "23:50:00", 10, "paused"),  # the break across midnight, ended by logging out
    ("luigi", "00:10:00", 11, "logged-out"),
)
# mario on D: available 1800 + 910 + 305 + 11840 + 900 + 11970 = 27725, busy 300 + 120 + 600 = 1020,
# wrap-up 15 + 10 + 30 = 55, paused 1800 + 2700 = 4500: occupancy 1075 / 28800.
# luigi on D: available 600 + 2990 + 49575 = 53165, reserved 15, busy 180, wrap-up 40, paused 600.
MARIO_STATES = {"available": 27725, "busy": 1020, "wrap-up": 55, "paused": 4500}
LUIGI_STATES = {"available": 53165, "reserved": 15, "busy": 180, "wrap-up": 40, "paused": 600}

EVENTS = (
    Event(t("09:05:10"), "item-completed", 1, "mario", "sales", value=300),
    Event(t("09:05:10"), "wrapup-started", None, "mario"),
    Event(t("09:05:25"), "wrapup-ended", None, "mario"),
    Event(t("09:12:30"), "item-completed", 2, "mario", "sales", value=120),
    Event(t("09:10:15"), "ring-no-answer", 2, "luigi", "sales"),
    Event(t("10:03:05"), "item-completed", 7, "luigi", "support", value=180),
    Event(t("10:03:05"), "wrapup-started", None, "luigi", value=40),
    # the router's own record of call 9's callback: the callbacks table counts it, not this event
    Event(t("12:01:00"), "callback-requested", 9, None, "sales", detail="+39021234"),
    # pauses: one left open from the day before, lunch, and a break across midnight ended by logging out
    Event(t("23:00:00", 9), "agent-paused", None, "mario", detail="meeting"),
    Event(t("00:30:00"), "agent-unpaused", None, "mario"),
    Event(t("12:30:00"), "agent-paused", None, "mario", detail="lunch"),
    Event(t("13:15:00"), "agent-unpaused", None, "mario"),
    Event(t("23:50:00"), "agent-paused", None, "luigi", detail="break"),
    Event(t("00:10:00", 11), "agent-logged-out", None, "luigi"),
    *(Event(t(at, day), "agent-status", None, agent, detail=state) for agent, at, day, state in STATES),
)

NPS = (
    NpsScore(10, t("09:06:00"), 1, "mario"),
    NpsScore(6, t("09:13:00"), 2, "mario"),
    NpsScore(8, t("00:09:00", 11), 6, "luigi"),  # answered after midnight, counts with its call on D
    NpsScore(9, t("10:04:00"), 7, None),  # no agent on the answer: the contact's agent (luigi)
)

CALLBACKS = (
    # call 9 left its number in the queue and mario called back at 14:00
    CallbackRequest(t("12:01:00"), 9, "sales", "s-sales", completed_at=t("14:00:00"), agent="mario"),
    # call 8 asked for one in the IVR (no queue, the menu's service); still pending
    CallbackRequest(t("11:00:50"), 8, None, "s-sales"),
)


def post(clock: str, kind: str, day: int = 10) -> TicketPost:
    return TicketPost(t(clock, day), kind)


TICKETS = (
    # solved with one reply; the acknowledgement does not count: first-contact
    Ticket(
        1,
        t("09:30:00"),
        (post("08:00:00", "inbound"), post("08:00:00", "auto"), post("09:00:00", "reply")),
        service="s-care",
        agent="mario",
    ),
    # the customer wrote again after the reply: not first-contact
    Ticket(
        2,
        t("11:30:00"),
        (
            post("08:00:00", "inbound"),
            post("09:00:00", "reply"),
            post("10:00:00", "inbound"),
            post("11:00:00", "reply"),
        ),
        service="s-care",
        agent="luigi",
    ),
    # opened and answered the day before, an internal note, solved on D: first-contact, counted on D
    Ticket(
        3,
        t("08:30:00"),
        (post("20:00:00", "inbound", 9), post("21:00:00", "reply", 9), post("08:00:00", "note")),
        service="s-care",
        agent="mario",
    ),
    # closed without any reply (spam): resolved, not first-contact
    Ticket(5, t("12:30:00"), (post("12:00:00", "inbound"),), service="s-care"),
    # two replies, no follow-up: not first-contact
    Ticket(
        6,
        t("11:00:00"),
        (post("10:00:00", "inbound"), post("10:30:00", "reply"), post("10:45:00", "reply")),
        service="s-care",
        agent="luigi",
    ),
    # solved the next day: not in D's figures
    Ticket(7, t("09:00:00", 11), (post("09:00:00", "inbound"), post("10:00:00", "reply")), service="s-care"),
)

# SLA targets missed (ticket id, target, when the clock ran out): each on its ticket's rows, at that moment.
BREACHED = (
    (2, "first-response", t("08:30:00")),
    (2, "resolution", t("11:15:00")),
    (5, "resolution", t("12:15:00")),  # no assignee: the "-" agent row
    (7, "first-response", t("00:30:00", 11)),  # after midnight: the next day
)


def breach(ticket_id: int, target: str, at: datetime) -> SlaBreach:
    ticket = next(x for x in TICKETS if x.id == ticket_id)
    return SlaBreach(at, target, ticket.channel, ticket.service, ticket.queue, ticket.agent)


DAY = Dataset(CONTACTS, EVENTS, NPS, QUEUE_SERVICE, CALLBACKS, TICKETS, tuple(breach(*b) for b in BREACHED))
WRAPUP = {"sales": 10.0, "support": 30.0}


def params(interval: Interval = Interval.DAY) -> Params:
    return Params(
        start=D,
        end=t("00:00:00", 12),
        interval=interval,
        tz=ROME,
        sl_threshold_s=20,
        short_abandon_s=5,
        wrapup_s=WRAPUP,
    )


def test_tenant_day_figures_match_the_hand_computed_ones() -> None:
    rows = compute(DAY, params(), Dimension.TENANT)
    assert list(rows) == [("all", D), ("all", D1)]
    f = rows[("all", D)]
    assert (f.offered, f.answered, f.abandoned, f.short_abandoned) == (9, 5, 2, 1)
    assert f.service_level == pytest.approx(3 / 8 * 100)  # ids 1, 6 (exactly 20 s), 7 over 9 - 1
    assert f.service_level_abandons == pytest.approx(4 / 8 * 100)  # + id 4 abandoned at 15 s
    assert f.asa_s == pytest.approx((10 + 30 + 20 + 5 + 1800) / 5)
    assert f.longest_wait_s == 1800
    assert f.handled == 5 and f.talk_s == 300 + 120 + 600 + 180 + 600
    assert f.wrapup_s == 15 + 10 + 30 + 40 + 30
    assert f.aht_s == pytest.approx((1800 + 125) / 5)
    assert f.pause_s == {"meeting": 1800, "lunch": 2700, "break": 600}
    assert (f.callbacks_requested, f.callbacks_completed, f.transfers, f.rona) == (2, 1, 1, 1)
    assert f.state_s == {
        s: MARIO_STATES.get(s, 0) + LUIGI_STATES.get(s, 0)
        for s in ("available", "busy", "wrap-up", "paused", "reserved")
    }
    assert f.occupancy == pytest.approx(100 * (1075 + 220) / (28800 + 53400))
    assert (f.tickets_resolved, f.tickets_fcr, f.sla_breaches) == (5, 2, 3) and f.fcr == 40.0
    assert (f.promoters, f.passives, f.detractors) == (2, 1, 1) and f.nps == pytest.approx(25.0)
    after = rows[("all", D1)]
    assert after.offered == 0 and after.talk_s == 0 and after.pause_s == {"break": 600}
    assert after.state_s == {"paused": 600} and after.occupancy is None
    assert (after.tickets_resolved, after.tickets_fcr, after.sla_breaches) == (1, 1, 1)


def test_by_agent_puts_unanswered_calls_on_the_none_row_and_rona_on_the_ringing_agent() -> None:
    rows = compute(DAY, params(), Dimension.AGENT)
    mario, luigi, nobody = rows[("mario", D)], rows[("luigi", D)], rows[("-", D)]
    assert (mario.offered, mario.answered, mario.rona, mario.callbacks_completed) == (3, 3, 0, 1)
    assert mario.pause_s == {"meeting": 1800, "lunch": 2700} and mario.nps == 0
    assert mario.state_s == MARIO_STATES and mario.occupancy == pytest.approx(100 * 1075 / 28800)
    assert luigi.state_s == LUIGI_STATES and luigi.occupancy == pytest.approx(100 * 220 / 53400)
    assert (mario.tickets_resolved, mario.tickets_fcr, luigi.tickets_resolved, luigi.tickets_fcr) == (2, 2, 2, 0)
    assert (luigi.offered, luigi.answered, luigi.rona, luigi.transfers) == (2, 2, 1, 1)
    assert luigi.nps == 50 and luigi.pause_s == {"break": 600}
    assert (nobody.offered, nobody.abandoned, nobody.short_abandoned, nobody.callbacks_requested) == (4, 2, 1, 2)
    assert nobody.state_s == {} and (nobody.tickets_resolved, nobody.tickets_fcr) == (1, 0)
    assert (mario.sla_breaches, luigi.sla_breaches, nobody.sla_breaches) == (0, 2, 1)
    assert totals(rows.values()).offered == 9


def test_by_queue_service_and_channel() -> None:
    queues = compute(DAY, params(), Dimension.QUEUE)
    sales, support = queues[("sales", D)], queues[("support", D)]
    assert (sales.offered, sales.answered, sales.service_level) == (6, 2, 20.0)
    assert (sales.rona, sales.callbacks_requested, sales.callbacks_completed) == (1, 1, 1)
    assert (support.offered, support.answered) == (3, 3)
    assert support.service_level == pytest.approx(200 / 3)
    assert sales.pause_s == {} and sales.state_s == {}  # pauses and states belong to agents
    assert queues[("-", D)].callbacks_requested == 1  # the IVR's callback has no queue
    assert queues[("-", D)].tickets_resolved == 5  # the tickets were never queued
    services = compute(DAY, params(), Dimension.SERVICE)
    assert services[("s-sales", D)].offered == 6 and services[("s-care", D)].rona == 0
    assert services[("s-sales", D)].callbacks_requested == 2 and services[("s-care", D)].fcr == 40.0
    channels = compute(DAY, params(), Dimension.CHANNEL)
    assert channels[("voice", D)].offered == 8 and channels[("mail", D)].asa_s == 1800
    assert channels[("mail", D)].sla_breaches == 3 and services[("s-care", D)].sla_breaches == 3
    assert queues[("-", D)].sla_breaches == 3 and sales.sla_breaches == 0


def test_hourly_rows_bucket_calls_by_offer_time_and_cut_pauses_at_the_hour() -> None:
    rows = compute(DAY, params(Interval.HOUR), Dimension.INTERVAL)
    late = rows[("all", t("23:00:00"))]
    assert late.offered == 1 and late.talk_s == 600  # the midnight call stays in its offer hour
    assert late.pause_s == {"break": 600}
    assert rows[("all", t("00:00:00", 11))].pause_s == {"break": 600}
    assert rows[("all", t("09:00:00"))].offered == 5
    quarter = compute(DAY, params(Interval.QUARTER), Dimension.INTERVAL)
    assert quarter[("all", t("09:00:00"))].offered == 2 and quarter[("all", t("09:15:00"))].offered == 1
    # 09:00-09:15: mario available 10 + 305 + 140, busy 300 + 120, wrap-up 15 + 10 (09:12:30-40);
    # luigi available 600 + 285, reserved 15
    nine = quarter[("all", t("09:00:00"))].state_s
    assert nine == {"available": 10 + 305 + 140 + 600 + 285, "busy": 420, "wrap-up": 25, "reserved": 15}
    assert sum(nine.values()) == 2 * 900


def test_day_buckets_follow_the_tenant_clock_across_dst() -> None:
    spring = datetime(2026, 3, 29, tzinfo=ROME)
    pieces = list(split(spring, datetime(2026, 3, 30, tzinfo=ROME), Interval.DAY, ROME))
    assert pieces == [(spring, 23 * 3600)]
    # 00:00 to 04:00 on the clock is three real hours: 02:00 does not exist that night
    hours = list(split(spring, spring + timedelta(hours=4), Interval.HOUR, ROME))
    assert [(b.hour, s) for b, s in hours] == [(0, 3600), (1, 3600), (3, 3600)]


def test_first_contact_resolution_rules() -> None:
    assert [first_contact_resolution(ticket) for ticket in TICKETS] == [True, False, True, False, False, True]
    # a customer's "thanks" after the only reply is a follow-up too
    thanks = Ticket(
        9, t("12:00:00"), (post("09:00:00", "inbound"), post("10:00:00", "reply"), post("11:00:00", "inbound"))
    )
    assert not first_contact_resolution(thanks)


def test_a_contact_that_asked_for_a_callback_is_not_abandoned() -> None:
    # call 5 gave up after 60 s; with a callback row requested by it, it is a callback, not an abandon
    late = (*CALLBACKS, CallbackRequest(t("09:41:00"), 5, "sales", "s-sales"))
    f = compute(Dataset(CONTACTS, EVENTS, NPS, QUEUE_SERVICE, late, TICKETS), params(), Dimension.TENANT)[("all", D)]
    assert (f.abandoned, f.callbacks_requested) == (1, 3)


def test_an_empty_report_has_no_rows_and_no_ratios() -> None:
    assert compute(Dataset(), params(), Dimension.QUEUE) == {}
    assert totals([]).service_level is None and totals([]).nps is None
    assert totals([]).occupancy is None and totals([]).fcr is None
