"""Contact matching rules, pure: references, normal forms, merges refused, duplicates, "known", reliability."""

from __future__ import annotations

import pytest

from tvoxcc.journey.contacts import (
    ContactNotFound,
    JourneyError,
    MergeError,
    Ref,
    check_merge,
    find_duplicates,
    is_known,
    merged_family,
    normalise_email,
    parse_ref,
    reliability,
    resolve,
)
from tvoxcc.journey.rows import ContactRow


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("42", Ref(contact_id=42)),
        ("#42", Ref(contact_id=42)),
        ("id:1234567", Ref(contact_id=1234567)),
        ("02 1234 5678", Ref(phone="+390212345678")),
        ("0039 02 1234 5678", Ref(phone="+390212345678")),
        ("+39 (02) 1234-5678", Ref(phone="+390212345678")),
        ("3331234567", Ref(phone="+393331234567")),  # longer than an id: a mobile number
        (" Anna.Rossi@Example.COM ", Ref(email="anna.rossi@example.com")),
    ],
)
def test_parse_ref(text: str, ref: Ref) -> None:
    assert parse_ref(text, "IT") == ref


def test_parse_ref_uses_the_tenant_country() -> None:
    assert parse_ref("020 7946 0018", "GB") == Ref(phone="+442079460018")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("anna@", "'anna@' is not an e-mail address"),
        ("nobody", "'nobody' is not a contact id, a phone number (country IT) or an e-mail address"),
        ("12-", "is not a contact id"),
    ],
)
def test_parse_ref_refuses(text: str, message: str) -> None:
    with pytest.raises(JourneyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_ref(text, "IT")


def test_normalise_email() -> None:
    assert normalise_email("ANNA@X.IT") == "anna@x.it"
    assert normalise_email("a b@x.it") is None and normalise_email("anna@localhost") is None


def row(cid: int, *, into: int | None = None, tenant: int = 1, **kw: object) -> ContactRow:
    return ContactRow(cid, tenant, merged_into_id=into, **kw)  # type: ignore[arg-type]


def test_resolve_follows_merges_and_family_collects_them() -> None:
    contacts = {c.id: c for c in (row(1), row(2, into=1), row(3, into=2), row(4))}
    assert resolve(contacts, 3).id == 1 and resolve(contacts, 4).id == 4
    assert merged_family({2: 1, 3: 2, 5: 4}, 1) == {1, 2, 3}
    with pytest.raises(ContactNotFound, match="no contact 9"):
        resolve(contacts, 9)
    loop = {1: row(1, into=2), 2: row(2, into=1)}
    with pytest.raises(ContactNotFound):
        resolve(loop, 1)


@pytest.mark.parametrize(
    ("survivor", "duplicate", "message"),
    [
        (row(1), row(2, tenant=2), "cannot merge contact 2 into contact 1: they belong to different tenants"),
        (row(1), row(1), "cannot merge contact 1 into itself"),
        (row(1, into=3), row(2), "contact 1 is already merged into contact 3: merge into contact 3 instead"),
        (row(1), row(2, into=3), "contact 2 is already merged into contact 3"),
    ],
)
def test_merge_refusals(survivor: ContactRow, duplicate: ContactRow, message: str) -> None:
    with pytest.raises(MergeError) as caught:
        check_merge(survivor, duplicate, 1)
    assert str(caught.value) == message


def test_known_contact_rule() -> None:
    assert is_known(row(1, display_name="Anna Rossi", emails=("anna@x.it",)))
    # what the mail channel creates for a sender without a display name
    assert not is_known(row(2, display_name="anna@x.it", emails=("anna@x.it",)))
    assert not is_known(row(3, display_name="+390212345678", phones=("+390212345678",)))
    assert not is_known(row(4)) and not is_known(row(5, display_name="other@x.it"))
    assert not is_known(row(8, display_name="+39 (02) 1234-5678")) and is_known(row(9, display_name="caller"))
    assert is_known(row(6, display_name="anna@x.it", company="ACME")) and is_known(row(7, vip=True))


def test_find_duplicates_by_normalised_phone_and_email() -> None:
    contacts = [
        row(1, phones=("+390212345678",), emails=("anna@x.it",)),
        row(2, phones=("02 1234 5678",)),
        row(3, emails=("Anna@X.it",)),
        row(4, phones=("+390299999999",)),
        row(5, phones=("0212345678",), into=1),  # already merged: not a candidate
    ]
    groups = find_duplicates(contacts, "IT")
    assert [(g.key, g.contact_ids) for g in groups] == [("+390212345678", (1, 2)), ("anna@x.it", (1, 3))]
    assert groups[0].to_json() == {"key": "+390212345678", "contacts": [1, 2]}


def test_reliability_counts_known_contacts_after_merges() -> None:
    contacts = {
        1: row(1, display_name="Anna Rossi"),
        2: row(2, display_name="bob@x.it", emails=("bob@x.it",)),
        3: row(3, display_name="", into=1),  # a nameless duplicate merged into a known contact
    }
    result = reliability({None: 4, 1: 3, 2: 2, 3: 1, 99: 1}, contacts)
    assert (result.interactions, result.matched, result.known) == (11, 6, 4)
    assert (result.share, result.matched_share) == (36.4, 54.5)
    assert result.line() == (
        "Address book: 36.4% of 11 inbound interactions matched to a known contact (54.5% to any contact)"
    )
    empty = reliability({}, {})
    assert empty.share is None and empty.line() == "Address book: no inbound interactions in the period"
