"""The journey as text: one line per entry, and the screen pop in a few lines (times in the tenant's zone)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from tvoxcc.journey.entries import Call, CallbackEntry, Entry, MessageEntry, TicketEntry
from tvoxcc.journey.rows import ContactRow
from tvoxcc.journey.screen_pop import ScreenPop
from tvoxcc.journey.timeline import Timeline


def _t(value: datetime, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.0f}s"


def who(contact: ContactRow | None, address: str | None) -> str:
    if contact is None:
        return f"unknown contact {address}"
    name = contact.display_name or "(no name)"
    addresses = ", ".join([*contact.phones, *contact.emails]) or "no phone or e-mail"
    return f"contact {contact.id} {name}{' [VIP]' if contact.vip else ''} ({addresses})"


def entry_line(entry: Entry, tz: tzinfo) -> str:
    head = f"{_t(entry.at, tz)}  {entry.channel:<8}"
    if isinstance(entry, Call):
        parts = [f"call #{entry.interaction_id} from {entry.caller or '-'}"]
        if entry.ivr_path:
            parts.append("ivr " + ">".join(entry.ivr_path) + (f" ({entry.digits})" if entry.digits else ""))
        if entry.queue:
            parts.append(f"queue {entry.queue} wait {_s(entry.wait_s)}")
        if entry.agent:
            parts.append(f"agent {entry.agent}")
        outcome = entry.outcome + (f" ({entry.outcome_detail})" if entry.outcome_detail else "")
        parts.append(outcome + (f" talk {_s(entry.talk_s)}" if entry.talk_s is not None else ""))
        if entry.recording:
            parts.append(f"recording {entry.recording}")
        if entry.nps is not None:
            parts.append(f"NPS {entry.nps}")
        if entry.ticket is not None:
            parts.append(f"ticket T-{entry.ticket}")
        return head + "  " + ", ".join(parts)
    if isinstance(entry, TicketEntry):
        return (
            f"{head}  ticket T-{entry.number} {entry.subject!r} {entry.status}, "
            f"in {entry.messages_in} out {entry.messages_out}"
            + (f" notes {entry.notes}" if entry.notes else "")
            + (f", assigned to {entry.assignee}" if entry.assignee else "")
            + f", opened {_t(entry.started, tz)}"
        )
    if isinstance(entry, CallbackEntry):
        return (
            f"{head}  callback #{entry.callback_id} to {entry.number} {entry.status}"
            + (f" (queue {entry.queue})" if entry.queue else "")
            + f", requested {_t(entry.started, tz)}, attempts {entry.attempts}"
        )
    assert isinstance(entry, MessageEntry)
    return f"{head}  {entry.direction} {entry.from_address or '-'} -> {entry.to_address or '-'}" + (
        f" {entry.outcome}" if entry.outcome else ""
    )


def timeline_text(timeline: Timeline, tz: tzinfo) -> str:
    lines = [f"Journey of {who(timeline.contact, timeline.address)}"]
    if timeline.merged:
        lines.append("  merged duplicates: " + ", ".join(str(i) for i in timeline.merged))
    if timeline.asked_id is not None and timeline.contact and timeline.asked_id != timeline.contact.id:
        lines.append(f"  (contact {timeline.asked_id} was merged into contact {timeline.contact.id})")
    lines += [f"  {entry_line(e, tz)}" for e in timeline.entries] or ["  (no contacts in this range)"]
    return "\n".join(lines)


def pop_text(pop: ScreenPop, tz: tzinfo) -> str:
    contact = pop.contact
    lines = [who(contact, pop.address)]
    if contact is not None and (contact.company or contact.language):
        lines.append(f"  company {contact.company or '-'}, language {contact.language or '-'}")
    channels = ", ".join(f"{k} {v}" for k, v in pop.by_channel.items()) or "none"
    counted = f"{pop.contacts} contact{'' if pop.contacts == 1 else 's'}"
    lines.append(f"  {counted} ({channels}); last agent {pop.last_agent or '-'}")
    nps = "-" if pop.nps_last is None else f"{pop.nps_last} (average {pop.nps_average})"
    lines.append(f"  NPS {nps}; pending callbacks {pop.pending_callbacks}")
    if pop.open_tickets:
        tickets = ", ".join(f"T-{t.number} {t.subject!r} {t.status}" for t in pop.open_tickets)
        lines.append(f"  open tickets: {tickets}")
    else:
        lines.append("  open tickets: none")
    lines += [f"  last: {entry_line(e, tz)}" for e in pop.last]
    return "\n".join(lines)
