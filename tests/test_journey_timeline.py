"""The journey's pure core on hand-built rows: ordering, every entry's fields, filters, the screen pop."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tvoxcc.journey.entries import Call, CallbackEntry, MessageEntry, TicketEntry
from tvoxcc.journey.rows import (
    CallbackRow,
    ContactRow,
    EventRow,
    InteractionRow,
    JourneyRows,
    MessageRow,
    NpsRow,
    TicketRow,
)
from tvoxcc.journey.screen_pop import screen_pop
from tvoxcc.journey.timeline import build_timeline


def t(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


ANNA = ContactRow(7, 1, "Anna Rossi", vip=True, phones=("+390212345678",), emails=("anna@example.com",))

ROWS = JourneyRows(
    interactions=(
        # 10 March 09:00: IVR welcome>menu, digit 2, queued 09:00:20, answered by mario 09:00:50, ended 09:04:10
        InteractionRow(
            1,
            "voice",
            t(10, 9),
            contact_id=7,
            from_address="+390212345678",
            answered_at=t(10, 9, 0, 50),
            ended_at=t(10, 9, 4, 10),
            outcome="answered",
            recording="rec/1.wav",
            service="sales",
            queue="sales-it",
            agent="mario",
        ),
        # 11 March 10:00: abandoned in the queue after 40 s; the queue only in its event
        InteractionRow(2, "voice", t(11, 10), contact_id=7, ended_at=t(11, 10, 1), outcome="abandoned"),
        # 12 March: a voicemail that became ticket T-1002
        InteractionRow(3, "voice", t(12, 8), contact_id=7, ticket_id=11, ended_at=t(12, 8, 2), outcome="voicemail"),
        # mail in for T-1001, folded into the ticket
        InteractionRow(4, "mail", t(9, 15), contact_id=7, ticket_id=10, from_address="anna@example.com"),
        # a chat without a ticket
        InteractionRow(5, "chat", t(13, 11), contact_id=7, ended_at=t(13, 11, 5)),
        # 13 March: hung up in the IVR after asking for a callback
        InteractionRow(6, "voice", t(13, 9), contact_id=7, ended_at=t(13, 9, 1), outcome="callback"),
        # still in the queue now
        InteractionRow(8, "voice", t(14, 9), contact_id=7, outcome="queued"),
    ),
    events=(
        EventRow(1, t(10, 9, 0, 1), "ivr-node", data={"node": "welcome"}),
        EventRow(1, t(10, 9, 0, 5), "ivr-node", data={"node": "menu"}),
        EventRow(1, t(10, 9, 0, 9), "ivr-input", data={"node": "menu", "digit": "2"}),
        EventRow(1, t(10, 9, 0, 20), "queued", data={"queue": "sales-it"}),
        EventRow(1, t(10, 9, 0, 50), "item-connected", queue="sales-it", agent="mario", data={"value": 30}),
        EventRow(2, t(11, 10, 0, 20), "item-queued", queue="support"),
        EventRow(3, t(12, 8, 1), "voicemail-ticket", data={"ticket": 1002}),
    ),
    tickets=(
        TicketRow(10, 1001, "Broken router", "open", t(9, 15), t(10, 12), contact_id=7, assignee="luigi"),
        TicketRow(11, 1002, "Voicemail from +390212345678", "solved", t(12, 8, 2), t(12, 8, 2), contact_id=7),
    ),
    messages=(
        MessageRow(10, "inbound", t(9, 15), 4),
        MessageRow(10, "outbound", t(9, 16)),
        MessageRow(10, "note", t(10, 11)),
        MessageRow(10, "outbound", t(10, 12)),
        MessageRow(11, "inbound", t(12, 8, 2), 3),
    ),
    callbacks=(
        CallbackRow(20, "+390212345678", t(13, 9, 1), "pending", 7, "sales-it", requested_by_id=6),
        CallbackRow(21, "+390212345678", t(8, 9), "done", 7, "sales-it", completed_at=t(8, 10), attempts=1),
    ),
    nps=(NpsRow(1, 6, t(10, 9, 5)), NpsRow(1, 9, t(10, 9, 6))),  # answered twice: the latest counts
)


def timeline(**kw: object) -> list[object]:
    return list(build_timeline(ROWS, contact=ANNA, **kw).entries)  # type: ignore[arg-type]


def test_newest_first_across_every_channel() -> None:
    entries = timeline()
    assert [(e.kind, e.at) for e in entries] == [
        ("call", t(14, 9)),
        ("message", t(13, 11, 5)),
        ("callback", t(13, 9, 1)),
        ("call", t(13, 9)),
        ("ticket", t(12, 8, 2)),
        ("call", t(12, 8)),
        ("call", t(11, 10)),
        ("ticket", t(10, 12)),  # a ticket sits at its latest activity
        ("call", t(10, 9)),
        ("callback", t(8, 10)),
    ]


def test_a_call_carries_ivr_queue_wait_agent_talk_recording_and_nps() -> None:
    call = next(e for e in timeline() if isinstance(e, Call) and e.interaction_id == 1)
    assert call.ivr_path == ("welcome", "menu") and call.digits == "2"
    assert (call.queue, call.wait_s, call.agent) == ("sales-it", 30.0, "mario")
    assert (call.outcome, call.outcome_detail, call.talk_s) == ("answered", "", 200.0)
    assert (call.recording, call.nps, call.service, call.caller) == ("rec/1.wav", 9, "sales", "+390212345678")


def test_outcomes_abandoned_voicemail_callback_and_waiting() -> None:
    calls = {e.interaction_id: e for e in timeline() if isinstance(e, Call)}
    abandoned = calls[2]
    assert (abandoned.outcome, abandoned.queue, abandoned.wait_s, abandoned.agent) == (
        "abandoned",
        "support",
        40.0,
        None,
    )
    assert (calls[3].outcome, calls[3].ticket) == ("voicemail", 1002)
    assert calls[6].outcome == "callback" and calls[8].outcome == "waiting"
    assert calls[2].talk_s is None and calls[8].wait_s is None


def test_tickets_fold_their_mails_and_count_messages() -> None:
    entries = timeline()
    tickets = {e.number: e for e in entries if isinstance(e, TicketEntry)}
    mail = tickets[1001]
    assert (mail.channel, mail.status, mail.subject, mail.assignee) == ("mail", "open", "Broken router", "luigi")
    assert (mail.messages_in, mail.messages_out, mail.notes, mail.started) == (1, 2, 1, t(9, 15))
    assert tickets[1002].channel == "voice"  # a voicemail ticket is a voice contact
    assert not any(isinstance(e, MessageEntry) and e.interaction_id == 4 for e in entries)


def test_callbacks_requested_and_completed() -> None:
    callbacks = {e.callback_id: e for e in timeline() if isinstance(e, CallbackEntry)}
    assert (callbacks[20].status, callbacks[20].requested_by, callbacks[20].queue) == ("requested", 6, "sales-it")
    assert (callbacks[21].status, callbacks[21].started, callbacks[21].at) == ("completed", t(8, 9), t(8, 10))
    placed = build_timeline(JourneyRows(callbacks=(CallbackRow(1, "+39", t(1, 1), "pending", placed_as_id=5),)))
    assert isinstance(placed.entries[0], CallbackEntry) and placed.entries[0].status == "placed"


def test_filter_by_channel() -> None:
    assert {e.channel for e in timeline(channels=("voice",))} == {"voice"}
    assert [e.kind for e in timeline(channels=("mail",))] == ["ticket"]
    assert [e.kind for e in timeline(channels=("callback", "chat"))] == ["message", "callback", "callback"]
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        timeline(channels=("fax",))


def test_filter_by_date_keeps_what_overlaps_the_range() -> None:
    entries = timeline(since=t(10, 0), until=t(11, 0))
    # the ticket opened on the 9th with activity on the 10th overlaps; the call of the 10th is in
    assert [(e.kind, e.at) for e in entries] == [("ticket", t(10, 12)), ("call", t(10, 9))]
    assert timeline(since=t(15, 0)) == []
    assert [e.at for e in timeline(until=t(9, 0))] == [t(8, 10)]


def test_screen_pop_sees_the_whole_journey_even_when_filtered() -> None:
    pop = screen_pop(build_timeline(ROWS, contact=ANNA, channels=("chat",)), last=2)
    assert pop.vip and pop.contacts == 10
    assert pop.by_channel == {"callback": 2, "chat": 1, "mail": 1, "voice": 6}
    assert [t.number for t in pop.open_tickets] == [1001]
    assert pop.last_agent == "luigi"  # the ticket's activity on the 10th at 12:00 is later than mario's call
    assert (pop.nps_last, pop.nps_average, pop.pending_callbacks) == (9, 9.0, 1)
    assert [e.kind for e in pop.last] == ["call", "message"]


def test_an_unknown_address_and_json() -> None:
    rows = JourneyRows(interactions=(InteractionRow(1, "voice", t(1, 1), from_address="+3902"),))
    tl = build_timeline(rows, address="+3902", asked_id=None)
    data = json.loads(json.dumps(tl.to_json()))
    assert data["contact"] is None and data["address"] == "+3902"
    assert data["entries"][0]["kind"] == "call" and data["entries"][0]["at"] == "2026-03-01T01:00:00+00:00"
    pop = screen_pop(tl)
    assert not pop.vip and pop.last_agent is None and pop.to_json()["contacts"] == 1


def test_merged_ids_and_ties_are_stable() -> None:
    same = t(5, 5)
    rows = JourneyRows(interactions=tuple(InteractionRow(i, "voice", same, ended_at=same) for i in (3, 1, 2)))
    tl = build_timeline(rows, contact=ANNA, asked_id=9, merged=(9, 8, 9))
    assert [e.interaction_id for e in tl.entries] == [3, 2, 1]  # type: ignore[union-attr]
    assert tl.merged == (8, 9) and tl.to_json()["asked_id"] == 9
    assert [e.outcome for e in tl.entries] == ["ended"] * 3  # type: ignore[union-attr]


def test_no_queue_no_wait_and_talk_needs_an_end() -> None:
    start = t(2, 2)
    rows = JourneyRows(
        interactions=(InteractionRow(1, "voice", start, answered_at=start + timedelta(seconds=12), outcome="answered"),)
    )
    call = build_timeline(rows).entries[0]
    assert isinstance(call, Call) and call.wait_s is None and call.outcome == "answered" and call.talk_s is None
