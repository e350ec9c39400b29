"""Data protection, pure rules: who a person is in stored text, and that text with them taken out.

An erase keeps the rows statistics count (interactions, ticket messages, outbox mails, callbacks, survey
answers) and takes out of them what names the person: their phone numbers in the forms a store or a log
may hold them (``+390212345678``, ``390212345678``, ``0212345678``), their e-mail addresses and their full
name. Shorter strings than ``MIN_NEEDLE`` are never searched for: a two-letter name would scrub everyone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import phonenumbers

ERASED = "[erased]"
MIN_NEEDLE = 5


def phone_forms(e164: str) -> set[str]:
    """The forms a number is written in by a store, Asterisk or a person: E.164, without '+', national."""
    forms = {e164, e164.lstrip("+")}
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return forms
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    forms.add(re.sub(r"[^0-9]", "", national))
    return {f for f in forms if len(f) >= MIN_NEEDLE}


@dataclass(frozen=True, slots=True)
class Identity:
    """What names one person: their contacts' ids, phones (E.164), e-mails and names."""

    contact_ids: frozenset[int]
    phones: frozenset[str]
    emails: frozenset[str]
    names: frozenset[str]

    @property
    def addresses(self) -> set[str]:
        """Every form of their phones, and their e-mails: what an interaction's from/to may hold."""
        return {form for p in self.phones for form in phone_forms(p)} | set(self.emails)

    def needles(self, *, with_names: bool = True) -> list[str]:
        """The strings an erase takes out, longest first (a national form inside an E.164 one goes with it)."""
        found = self.addresses | (set(self.names) if with_names else set())
        return sorted((n for n in found if len(n) >= MIN_NEEDLE), key=lambda n: (-len(n), n))


def identity(
    contact_ids: Iterable[int], phones: Iterable[str], emails: Iterable[str], names: Iterable[str]
) -> Identity:
    """Names that are only an address (what the mail channel gives a sender without a display name) add nothing."""
    addresses = {*phones, *(e.casefold() for e in emails)}
    kept = {n.strip() for n in names if n.strip() and n.strip().casefold() not in addresses}
    return Identity(frozenset(contact_ids), frozenset(phones), frozenset(e.casefold() for e in emails), frozenset(kept))


def pattern(needles: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for every needle; None when there is nothing to look for."""
    parts = [re.escape(n) for n in needles if len(n) >= MIN_NEEDLE]
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def scrub(value: Any, found: re.Pattern[str]) -> Any:
    """``value`` (a string, or JSON made of dicts, lists and scalars) with every needle replaced by ERASED."""
    if isinstance(value, str):
        return found.sub(ERASED, value)
    if isinstance(value, list):
        return [scrub(v, found) for v in value]
    if isinstance(value, dict):
        return {scrub(k, found): scrub(v, found) for k, v in value.items()}
    return value


def mentions(value: Any, found: re.Pattern[str]) -> bool:
    if isinstance(value, str):
        return found.search(value) is not None
    if isinstance(value, list):
        return any(mentions(v, found) for v in value)
    if isinstance(value, dict):
        return any(mentions(k, found) or mentions(v, found) for k, v in value.items())
    return False
