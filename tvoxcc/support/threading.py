"""Which ticket a mail belongs to (what it does to the ticket's status: tvoxcc.support.status). Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

TICKET_TAG = re.compile(r"\[#T-(\d{1,9})\]")
# What mail clients put before a subject they answer or forward, in many languages: Re/Fwd/FW, German AW/WG,
# Nordic SV/VS/VB/VL, French TR/Réf, Italian R/RIF/I, Polish Odp/PD, Spanish RV, Portuguese RES/ENC, Dutch Antw,
# Turkish YNT/İLT, Hungarian VÁ/TOV, Greek ΑΠ/ΣΧΕΤ/ΠΡΘ, Chinese 回复/答复/转发;
# repeated, with a count (Re[2]:, Re(2):), a half- or full-width colon. The one-letter Italian R: and I: only
# when a space follows the colon ("I:O error" stays).
_PREFIX_WORDS = (
    "re|fwd?|fw|aw|wg|sv|vs|vb|vl|tr|rif|odp|pd|r[ée]f|rv|res|enc|antw|antwort|ynt|ilt|vá|tov|απ|σχετ|πρθ"
    "|回复|回覆|答复|转发|轉寄"
)
_REPLY_PREFIXES = re.compile(
    rf"^(?:\s*(?:(?:{_PREFIX_WORDS})\s*(?:\[\d+\]|\(\d+\))?\s*[:：]|[ri][:：](?=\s))\s*)+", re.IGNORECASE
)


def ticket_tag(number: int) -> str:
    return f"[#T-{number}]"


def tagged_number(subject: str) -> int | None:
    match = TICKET_TAG.search(subject)
    return int(match.group(1)) if match else None


def without_reply_prefixes(subject: str) -> str:
    """The subject a ticket keeps: ``Re: AW: Fwd: Printer`` is ``Printer``; one that is all prefixes stays as is."""
    base = _REPLY_PREFIXES.sub("", subject).strip()
    return base or subject


def with_tag(subject: str, number: int) -> str:
    """The subject carrying the ticket's tag exactly once, without the reply prefixes mail clients stack up."""
    base = " ".join(TICKET_TAG.sub("", subject).split())
    base = _REPLY_PREFIXES.sub("", base)
    return f"{ticket_tag(number)} {base}".strip()


@dataclass(frozen=True)
class ThreadChoice:
    ticket_id: int | None  # None: open a new ticket
    reason: str  # in-reply-to | references | subject-tag | new


def choose_thread(
    in_reply_to: str | None,
    references: Sequence[str],
    subject: str,
    ticket_of_message: Mapping[str, int],
    ticket_of_number: Mapping[int, int],
    closed_tickets: frozenset[int] = frozenset(),
) -> ThreadChoice:
    """Headers first (the most specific, newest reference wins), then the subject tag, else a new ticket.

    ``ticket_of_message`` maps known Message-IDs to ticket ids, ``ticket_of_number`` ticket numbers to ids.
    A closed ticket is never reopened by mail: the customer gets a new ticket.
    """
    if in_reply_to and in_reply_to in ticket_of_message:
        found = ticket_of_message[in_reply_to]
        if found not in closed_tickets:
            return ThreadChoice(found, "in-reply-to")
    for ref in reversed(references):
        found_ref = ticket_of_message.get(ref)
        if found_ref is not None and found_ref not in closed_tickets:
            return ThreadChoice(found_ref, "references")
    number = tagged_number(subject)
    if number is not None and number in ticket_of_number:
        found_tag = ticket_of_number[number]
        if found_tag not in closed_tickets:
            return ThreadChoice(found_tag, "subject-tag")
    return ThreadChoice(None, "new")
