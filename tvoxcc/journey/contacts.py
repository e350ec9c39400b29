"""Contact matching worth trusting, as pure rules: normal forms, references, merges, duplicates, "known".

- **Phones** are stored and matched in E.164, parsed with the tenant's default country
  (``tenants.country``; ``tvoxcc tenant set T --country IT``): ``02 1234 5678``, ``0039 02…`` and
  ``+39 02…`` are one number. Short internal numbers (extensions) are not phone numbers.
- **E-mails** are matched case-folded (``Anna.Rossi@X.it`` = ``anna.rossi@x.it``), as the mail channel
  stores them.
- **Merge** keeps history: the duplicate row stays, marked ``merged_into`` the survivor; its phones,
  e-mails, interactions, tickets and callbacks move to the survivor (NPS answers follow their interaction)
  and the merge is logged with what moved. A merged contact's id still resolves to the survivor.
- **Known contact** (address-book reliability): see :func:`is_known`.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tvoxcc.admin.errors import AdminError
from tvoxcc.journey.phones import to_e164
from tvoxcc.journey.rows import ContactRow

MAX_ID_DIGITS = 6  # longer plain numbers are phone numbers, not contact ids


class JourneyError(AdminError):
    """A journey request that cannot be served; the message is one line for the CLI and the web API."""


class ContactNotFound(JourneyError):
    pass


class MergeError(JourneyError):
    pass


def normalise_email(text: str) -> str | None:
    """``Anna.Rossi@X.it `` -> ``anna.rossi@x.it``; None when it is not an address."""
    address = text.strip().casefold()
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in address):
        return None
    return address


def normalise_phone(text: str, country: str) -> str | None:
    return to_e164(text, country)


@dataclass(frozen=True, slots=True)
class Ref:
    """A parsed CONTACT argument: exactly one of the three is set."""

    contact_id: int | None = None
    phone: str | None = None  # E.164
    email: str | None = None  # case-folded

    def __str__(self) -> str:
        return f"contact {self.contact_id}" if self.contact_id is not None else str(self.phone or self.email)


def parse_ref(text: str, country: str) -> Ref:
    """A contact id (``42``, ``#42``, ``id:42``), a phone number in any format, or an e-mail address."""
    value = text.strip()
    for prefix in ("#", "id:"):
        if value.lower().startswith(prefix) and value[len(prefix) :].isdigit():
            return Ref(contact_id=int(value[len(prefix) :]))
    if value.isdigit() and not value.startswith("0") and len(value) <= MAX_ID_DIGITS:
        return Ref(contact_id=int(value))
    if "@" in value:
        email = normalise_email(value)
        if email is None:
            raise JourneyError(f"{text!r} is not an e-mail address")
        return Ref(email=email)
    phone = normalise_phone(value, country) if any(c.isdigit() for c in value) else None
    if phone is None:
        raise JourneyError(f"{text!r} is not a contact id, a phone number (country {country}) or an e-mail address")
    return Ref(phone=phone)


def resolve(contacts: Mapping[int, ContactRow], contact_id: int) -> ContactRow:
    """The contact an id stands for today: a merged duplicate's survivor (following a chain of merges)."""
    seen: set[int] = set()
    current = contacts.get(contact_id)
    if current is None:
        raise ContactNotFound(f"no contact {contact_id}")
    while current.merged_into_id is not None:
        if current.id in seen or current.merged_into_id not in contacts:
            raise ContactNotFound(f"contact {contact_id} is merged into a missing contact {current.merged_into_id}")
        seen.add(current.id)
        current = contacts[current.merged_into_id]
    return current


def merged_family(links: Mapping[int, int | None], root: int) -> set[int]:
    """``root`` and every contact merged into it, directly or through another merged one."""
    children: dict[int, list[int]] = defaultdict(list)
    for child, parent in links.items():
        if parent is not None:
            children[parent].append(child)
    family, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in family:
                family.add(child)
                todo.append(child)
    return family


def check_merge(survivor: ContactRow, duplicate: ContactRow, tenant_id: int) -> None:
    """Refuse a merge that would lose or leak data; every message names the contacts."""
    if survivor.tenant_id != duplicate.tenant_id or survivor.tenant_id != tenant_id:
        raise MergeError(
            f"cannot merge contact {duplicate.id} into contact {survivor.id}: they belong to different tenants"
        )
    if survivor.id == duplicate.id:
        raise MergeError(f"cannot merge contact {survivor.id} into itself")
    if survivor.merged_into_id is not None:
        raise MergeError(
            f"contact {survivor.id} is already merged into contact {survivor.merged_into_id}: "
            f"merge into contact {survivor.merged_into_id} instead"
        )
    if duplicate.merged_into_id is not None:
        raise MergeError(f"contact {duplicate.id} is already merged into contact {duplicate.merged_into_id}")


NUMBER_CHARS = frozenset("0123456789+-() ./")


def is_known(contact: ContactRow) -> bool:
    """A contact someone has identified, as opposed to an address we merely saw.

    Contacts come from two places: an admin (or an import) creates them with a name, and the mail channel
    creates one for every new sender, named after the From header's display name, else its bare address.
    The voice service never creates contacts: an unknown caller's interaction has no contact at all.
    So a contact is **known** when it carries something a person gave: a company, the VIP flag, or a
    display name that is a name, not an e-mail address or a phone number (only digits and ``+-() ./``).
    """
    if contact.vip or contact.company.strip():
        return True
    name = contact.display_name.strip()
    if not name:
        return False
    return normalise_email(name) is None and not set(name) <= NUMBER_CHARS


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Contacts that share one normalised phone number or e-mail address."""

    key: str  # the E.164 number or the case-folded address
    contact_ids: tuple[int, ...]

    def to_json(self) -> dict[str, object]:
        return {"key": self.key, "contacts": list(self.contact_ids)}


def find_duplicates(contacts: Iterable[ContactRow], country: str) -> list[DuplicateGroup]:
    """Contacts (not merged ones) whose phones or e-mails are the same once normalised.

    The store's unique keys stop two identical stored values; duplicates are the ones stored in another
    form (``02 1234 5678`` beside ``+390212345678``, ``Anna@X.it`` beside ``anna@x.it``).
    """
    owners: dict[str, set[int]] = defaultdict(set)
    for c in contacts:
        if c.merged_into_id is not None:
            continue
        for phone in c.phones:
            owners[normalise_phone(phone, country) or phone.strip()].add(c.id)
        for email in c.emails:
            owners[normalise_email(email) or email.strip().casefold()].add(c.id)
    groups = [DuplicateGroup(key, tuple(sorted(ids))) for key, ids in owners.items() if len(ids) > 1]
    return sorted(groups, key=lambda g: (g.contact_ids, g.key))


@dataclass(frozen=True, slots=True)
class Reliability:
    """Address-book reliability: the share of a period's inbound interactions matched to a known contact."""

    interactions: int
    matched: int  # with any contact
    known: int  # with a known contact (is_known), after following merges

    @property
    def share(self) -> float | None:
        return round(100.0 * self.known / self.interactions, 1) if self.interactions else None

    @property
    def matched_share(self) -> float | None:
        return round(100.0 * self.matched / self.interactions, 1) if self.interactions else None

    def to_json(self) -> dict[str, object]:
        return {
            "interactions": self.interactions,
            "matched": self.matched,
            "known": self.known,
            "reliability_pct": self.share,
            "matched_pct": self.matched_share,
        }

    def line(self) -> str:
        if not self.interactions:
            return "Address book: no inbound interactions in the period"
        return (
            f"Address book: {self.share:.1f}% of {self.interactions} inbound interactions matched to a known contact"
            f" ({self.matched_share:.1f}% to any contact)"
        )


def reliability(counts: Mapping[int | None, int], contacts: Mapping[int, ContactRow]) -> Reliability:
    """From the period's interaction count per contact id (None: nobody matched) and those contacts."""
    total = matched = known = 0
    for cid, n in counts.items():
        total += n
        if cid is None or cid not in contacts:
            continue
        matched += n
        with contextlib.suppress(ContactNotFound):
            known += n if is_known(resolve(contacts, cid)) else 0
    return Reliability(total, matched, known)
