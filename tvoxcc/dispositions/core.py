"""Which contact a disposition is for, and why one is refused. Pure: rows in, a decision out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Refused(StrEnum):
    UNKNOWN_AGENT = "unknown-agent"
    UNKNOWN_CODE = "unknown-code"  # no disposition with that code in the tenant (a pause code is not one)
    NO_CONTACT = "no-contact"  # the agent has taken no contact to give it to


class DispositionError(Exception):
    def __init__(self, reason: Refused, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Target(StrEnum):
    INTERACTION = "interaction"  # an inbound (or callback) call, chat, mail… the agent took
    CAMPAIGN = "campaign"  # a campaign's call (campaign_attempts)


@dataclass(frozen=True, slots=True)
class Contact:
    """An answered contact of the agent: an interaction row or a campaign attempt row."""

    target: Target
    row_id: int
    answered_at: datetime


def last_contact(interaction: Contact | None, attempt: Contact | None) -> Contact:
    """The agent's last contact, the one in wrap-up: the later answered of their last interaction and their
    last campaign call."""
    found = [c for c in (interaction, attempt) if c is not None]
    if not found:
        raise DispositionError(Refused.NO_CONTACT, "no contact taken by this agent to give a disposition to")
    return max(found, key=lambda c: (c.answered_at, c.target is Target.CAMPAIGN))
