"""Contact-center figures from interactions and their events: a pure function of its inputs.

Definitions (every figure is per row key = (dimension value, interval bucket)):

- **Bucketing.** Contact figures (offered … AHT, transfers, NPS) are bucketed by the contact's
  ``offered_at`` in the tenant's time zone: a call offered at 23:58 and ended at 00:05 counts, with
  all its talk and wrap-up time, on the day it was offered. Event figures (RONA, callbacks) are bucketed
  by the event's time. Pause time is state time: it is cut at bucket boundaries and clipped to the report.
- **offered**: inbound contacts that reached a queue (``queue`` set). Contacts that never left the IVR
  are not offered to agents and do not count.
- **answered**: offered with ``answered_at``. **wait** = (answered_at, else ended_at) − offered_at: for
  voice the IVR time is part of the wait (the SQL path measures the same way, so both agree).
- **abandoned**: offered, ended, not answered, not transferred and not turned into a callback, with
  wait ≥ the short-abandon threshold. Shorter ones are **short_abandoned** (mis-dials, not lost
  customers) and are left out of abandoned and of the service-level denominator.
- **shed**: inbound calls the overloaded voice service turned away at once (outcome ``shed``: the busy
  message, no queue), bucketed by ``offered_at`` on their service, channel and tenant rows (queue and agent:
  ``-``). They never reached a queue: not offered, so not abandoned and not in the service level either.
- **service_level** = answered with wait ≤ T / (offered − short_abandoned), in %.
  **service_level_abandons** = (answered within T + abandoned within T) / (offered − short_abandoned):
  the variant where a caller who gave up before T does not count against the center.
- **ASA** = Σ wait of answered / answered. **longest_wait**: the largest wait of any offered contact.
- **AHT** = (Σ talk + Σ wrap-up) / handled, handled = answered and ended; talk = ended_at − answered_at.
  Wrap-up: a ``wrapup-started`` … ``wrapup-ended`` pair of the agent after the contact's
  ``item-completed`` (the ACD's StartWrapup/EndWrapup); a lone ``wrapup-started`` with a value (seconds);
  else the queue's configured wrap-up (``Params.wrapup_s``).
- **pause_s** by activity code: from ``agent-paused`` (data.detail = code) to the next ``agent-unpaused``,
  ``agent-logged-out`` or ``agent-paused`` (a code change) of the same agent; open at the end → clipped.
  Pause time belongs to agents only: rows by queue, service or channel have none.
- **callbacks_requested/completed**: from the callbacks table, which every path writes (IVR menu, AGI
  ``callback`` route, queue overflow to callback): requested by ``requested_at``, completed by
  ``completed_at`` (on the completing agent's row). The router's ``callback-requested`` events are not
  counted again (an overflow writes both). A contact that asked for a callback is not abandoned.
- **Agent state time** (``state_s``) from the ACD's ``agent-status`` events (detail = available, reserved,
  busy, wrap-up, paused, logged-out): each state lasts until the agent's next status event; cut at
  bucket boundaries, clipped to the report, on agent/tenant/interval rows only (like pauses).
  **occupancy** = handling (busy + wrap-up) / staffed (available + reserved + busy + wrap-up), in %:
  pause and logged-out time are neither.
- **First-contact resolution (tickets)**: a ticket counts as **resolved** in the bucket of its
  resolution (solved, else closed); it is **resolved at first contact** when its thread has exactly one
  agent reply and no customer message after that reply (acknowledgements and internal notes do not count;
  a ticket closed with no reply is not). **fcr** = first-contact / resolved, in %. Rows: the ticket's
  assignee, queue, service and channel.
- **sla_breaches**: ticket SLA targets missed (first response or resolution, each at most once per
  ticket), in the bucket of the moment the SLA clock ran out (its ``sla-breached`` ticket event), on the
  ticket's rows like first-contact resolution.
- **NPS** = (promoters 9–10 − detractors 0–6) / answers × 100; the survey counts on its contact's row
  (its agent: the score's agent, else the contact's).
- **transfers**: contacts with outcome ``transferred`` or a ``transferred`` event, once each. An answered
  call that was transferred stays answered, an unanswered one is not abandoned.
- **rona**: ``ring-no-answer`` events, on the row of the agent who did not answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime

from tvoxcc.insight.agent_spans import measured_wrapups, pause_spans, state_spans
from tvoxcc.insight.buckets import bucket_start, seconds, split
from tvoxcc.insight.event_kinds import CALLBACK_REQUESTED, RONA, SHED, TRANSFERRED
from tvoxcc.insight.figures import ALL, NONE, Figures, Key
from tvoxcc.insight.model import CallbackRequest, Contact, Dataset, Dimension, Event, Params, SlaBreach, Ticket
from tvoxcc.interactions import CALL_CHANNELS, Direction, Outcome
from tvoxcc.queues.model import Channel
from tvoxcc.support.status import MessageKind


def compute(data: Dataset, params: Params, by: Dimension) -> dict[Key, Figures]:
    """Every row of a report: (dimension value, interval bucket) -> figures, sorted by key."""
    rows: defaultdict[Key, Figures] = defaultdict(Figures)
    contacts = {c.id: c for c in data.contacts}
    per_contact: defaultdict[int, list[Event]] = defaultdict(list)
    for e in data.events:
        if e.interaction_id is not None:
            per_contact[e.interaction_id].append(e)
    wrapups = measured_wrapups(data.events)
    called_back = {cb.requested_by for cb in data.callbacks if cb.requested_by is not None}

    slots: dict[int, datetime] = {}

    def bucket(at: datetime) -> datetime:
        # Every zone is offset from UTC by a multiple of 15 minutes: one bucket per UTC quarter-hour,
        # so a day of a million calls needs 96 time-zone conversions, not a million.
        quarter = int(at.timestamp()) // 900
        found = slots.get(quarter)
        if found is None:
            found = slots[quarter] = bucket_start(at, params.interval, params.tz)
        return found

    for c in data.contacts:
        if params.start <= c.offered_at < params.end:
            _count_contact(
                rows[(_contact_key(c, by), bucket(c.offered_at))], c, per_contact[c.id], wrapups, params, called_back
            )

    for e in data.events:
        if not params.start <= e.at < params.end or e.kind != RONA:
            continue
        group = _event_key(e, contacts.get(e.interaction_id or -1), data.queue_service, by)
        if group is not None:
            rows[(group, bucket(e.at))].rona += 1

    for cb in data.callbacks:
        if params.start <= cb.requested_at < params.end:
            group = _callback_key(cb, None, contacts.get(cb.requested_by or -1), by)
            if group is not None:
                rows[(group, bucket(cb.requested_at))].callbacks_requested += 1
        if cb.completed_at is not None and params.start <= cb.completed_at < params.end:
            group = _callback_key(cb, cb.agent, contacts.get(cb.requested_by or -1), by)
            if group is not None:
                rows[(group, bucket(cb.completed_at))].callbacks_completed += 1

    for ticket in data.tickets:
        if params.start <= ticket.resolved_at < params.end:
            figures = rows[(_ticket_key(ticket, by), bucket(ticket.resolved_at))]
            figures.tickets_resolved += 1
            figures.tickets_fcr += first_contact_resolution(ticket)

    for breach in data.breaches:
        if params.start <= breach.at < params.end:
            rows[(_ticket_key(breach, by), bucket(breach.at))].sla_breaches += 1

    for score in data.nps:
        contact = contacts.get(score.interaction_id or -1)
        at = contact.offered_at if contact is not None else score.answered_at
        if not params.start <= at < params.end:
            continue
        group = _nps_key(score.agent, contact, by)
        figures = rows[(group, bucket(at))]
        if score.score >= 9:
            figures.promoters += 1
        elif score.score >= 7:
            figures.passives += 1
        else:
            figures.detractors += 1

    if by in (Dimension.AGENT, Dimension.TENANT, Dimension.INTERVAL):
        for agent, code, begin, end in pause_spans(data.events, params):
            group = agent if by is Dimension.AGENT else ALL
            for slot, spent in split(begin, end, params.interval, params.tz):
                pauses = rows[(group, slot)].pause_s
                pauses[code] = pauses.get(code, 0.0) + spent
        for agent, state, begin, end in state_spans(data.events, params):
            group = agent if by is Dimension.AGENT else ALL
            for slot, spent in split(begin, end, params.interval, params.tz):
                states = rows[(group, slot)].state_s
                states[state] = states.get(state, 0.0) + spent
    empty = Figures()  # e.g. the row an IVR-only contact touched: nothing to show
    return {key: f for key, f in sorted(rows.items()) if f != empty}


def _count_contact(
    f: Figures,
    c: Contact,
    events: list[Event],
    wrapups: Mapping[int, float],
    params: Params,
    called_back: set[int],
) -> None:
    if c.outcome == SHED:
        if c.direction == "inbound":
            f.shed += 1
        return
    kinds = {e.kind for e in events}
    if c.outcome == TRANSFERRED or TRANSFERRED in kinds:
        f.transfers += 1
    if c.direction == Direction.OUTBOUND and c.channel in CALL_CHANNELS:
        f.outbound += 1
        if c.answered_at is not None:
            f.outbound_answered += 1
            f.outbound_talk_s += seconds(c.answered_at, c.ended_at) if c.ended_at is not None else 0.0
    if c.direction != Direction.INBOUND or c.queue is None:
        return
    f.offered += 1
    end = c.answered_at or c.ended_at
    wait = seconds(c.offered_at, end) if end is not None else None
    if wait is not None:
        f.longest_wait_s = max(f.longest_wait_s, wait)
    within = wait is not None and wait <= params.sl_threshold_s
    if c.answered_at is not None and wait is not None:
        f.answered += 1
        f.wait_answered_s += wait
        f.answered_in_sl += within
        if c.ended_at is not None:
            f.handled += 1
            f.talk_s += seconds(c.answered_at, c.ended_at)
            f.wrapup_s += wrapups.get(c.id, params.wrapup_s.get(c.queue, 0.0))
        return
    gave_up = (
        c.ended_at is not None
        and c.outcome not in Outcome.HANDED_ON
        and not kinds & {TRANSFERRED, CALLBACK_REQUESTED}
        and c.id not in called_back
    )
    if gave_up and wait is not None:
        if wait < params.short_abandon_s:
            f.short_abandoned += 1
        else:
            f.abandoned += 1
            f.abandoned_in_sl += within


def _contact_key(c: Contact, by: Dimension) -> str:
    value = {
        Dimension.SERVICE: c.service,
        Dimension.QUEUE: c.queue,
        Dimension.CHANNEL: c.channel,
        Dimension.AGENT: c.agent,
    }.get(by, ALL)
    return value or NONE


def _event_key(e: Event, c: Contact | None, queue_service: Mapping[str, str], by: Dimension) -> str | None:
    queue = e.queue or (c.queue if c else None)
    if by is Dimension.AGENT:
        return e.agent or NONE
    if by is Dimension.QUEUE:
        return queue or NONE
    if by is Dimension.SERVICE:
        return (queue_service.get(queue) if queue else None) or (c.service if c else None) or NONE
    if by is Dimension.CHANNEL:
        return c.channel if c else None  # an event without its contact has no channel: left out
    return ALL


def _callback_key(cb: CallbackRequest, agent: str | None, c: Contact | None, by: Dimension) -> str | None:
    if by is Dimension.AGENT:
        return agent or NONE
    if by is Dimension.QUEUE:
        return cb.queue or (c.queue if c else None) or NONE
    if by is Dimension.SERVICE:
        return cb.service or (c.service if c else None) or NONE
    if by is Dimension.CHANNEL:
        return c.channel if c else Channel.VOICE  # a callback is a phone call back
    return ALL


def _ticket_key(t: Ticket | SlaBreach, by: Dimension) -> str:
    value = {
        Dimension.SERVICE: t.service,
        Dimension.QUEUE: t.queue,
        Dimension.CHANNEL: t.channel,
        Dimension.AGENT: t.agent,
    }.get(by, ALL)
    return value or NONE


def first_contact_resolution(ticket: Ticket) -> bool:
    """Exactly one agent reply, and no customer message after it (notes and automatic mails ignored)."""
    posts = sorted(ticket.posts, key=lambda p: p.at)
    replies = [p for p in posts if p.kind == "reply"]
    if len(replies) != 1:
        return False
    return not any(p.kind == MessageKind.INBOUND and p.at > replies[0].at for p in posts)


def _nps_key(agent: str | None, c: Contact | None, by: Dimension) -> str:
    if by is Dimension.AGENT:
        return agent or (c.agent if c else None) or NONE
    if c is None:
        return ALL if by in (Dimension.TENANT, Dimension.INTERVAL) else NONE
    return _contact_key(c, by)
