"""The pure ticket core: which ticket a mail threads into, and status rules."""

from __future__ import annotations

import pytest

from tvoxcc.support.status import TicketStatus, after_agent_reply, after_customer_message, check_status_change
from tvoxcc.support.threading import (
    choose_thread,
    tagged_number,
    with_tag,
    without_reply_prefixes,
)


def test_in_reply_to_wins_over_references_and_tag() -> None:
    choice = choose_thread("<a@x>", ["<b@x>"], "[#T-9] hi", {"<a@x>": 1, "<b@x>": 2}, {9: 3})
    assert (choice.ticket_id, choice.reason) == (1, "in-reply-to")


def test_newest_reference_wins() -> None:
    choice = choose_thread("<unknown@x>", ["<old@x>", "<new@x>"], "", {"<old@x>": 1, "<new@x>": 2}, {})
    assert (choice.ticket_id, choice.reason) == (2, "references")


def test_subject_tag_when_headers_are_unknown() -> None:
    choice = choose_thread(None, [], "Re: [#T-1042] printer", {}, {1042: 7})
    assert (choice.ticket_id, choice.reason) == (7, "subject-tag")


def test_unknown_tag_or_nothing_opens_a_new_ticket() -> None:
    assert choose_thread(None, [], "[#T-5] x", {}, {}).ticket_id is None
    assert choose_thread(None, [], "hello", {}, {}).reason == "new"


def test_closed_ticket_is_not_reopened_by_mail() -> None:
    assert choose_thread("<a@x>", [], "[#T-1] x", {"<a@x>": 1}, {1: 1}, frozenset({1})).ticket_id is None


def test_tag_helpers() -> None:
    assert tagged_number("Re: [#T-1042] x") == 1042 and tagged_number("T-1042") is None
    assert with_tag("Re: [#T-3] printer", 3) == "[#T-3] printer"
    assert with_tag("R: Fwd: re:  my  printer", 3) == "[#T-3] my printer"
    assert with_tag("", 4) == "[#T-4]"


@pytest.mark.parametrize(
    "subject",
    [
        "RE: Printer",
        "Re: Printer",
        "Fwd: Printer",
        "FW: Printer",
        "WG: Printer",
        "AW: Printer",
        "SV: Printer",
        "VS: Printer",
        "TR: Printer",
        "R: Printer",
        "RIF: Printer",
        "I: Printer",
        "Odp: Printer",
        "PD: Printer",
        "Réf: Printer",
        "REF: Printer",
        "Re: AW: Fwd: Printer",
        "Re[2]: Printer",
        "AW[3]: RE: Printer",
        "Re：Printer",
        "回复：Printer",
        "ΑΠ: Printer",
        "RES: ENC: Printer",
        "  re :  Printer",
    ],
)
def test_reply_prefixes_of_other_clients_and_languages(subject: str) -> None:
    assert without_reply_prefixes(subject) == "Printer"
    assert with_tag(subject, 7) == "[#T-7] Printer"


@pytest.mark.parametrize("subject", ["I:O error on disk", "R:2 rounds", "Reply needed", "Resume: x", "Invoice", "Re:"])
def test_words_that_only_look_like_prefixes_stay(subject: str) -> None:
    assert without_reply_prefixes(subject) == subject


@pytest.mark.parametrize(
    ("before", "after"),
    [("new", "new"), ("open", "open"), ("pending-customer", "open"), ("solved", "open"), ("closed", "closed")],
)
def test_customer_reply_reopens_pending_and_solved(before: str, after: str) -> None:
    assert after_customer_message(before) == after


def test_agent_reply_waits_for_customer() -> None:
    assert after_agent_reply("open") == "pending-customer" and after_agent_reply("closed") == "closed"


def test_status_changes() -> None:
    assert check_status_change("open", "solved") is None
    assert check_status_change("open", "bogus") is not None
    assert check_status_change("closed", "open") is not None
    assert check_status_change("open", "new") is not None


def test_ticket_statuses_keep_their_stored_values_and_name_their_groups() -> None:
    assert list(TicketStatus) == ["new", "open", "pending-customer", "solved", "closed"]  # the stored values
    assert {"new", "open", "pending-customer"} == TicketStatus.WORKING
    assert {"new", "open"} == TicketStatus.AWAITING_US and {"solved", "closed"} == TicketStatus.DONE
    assert set(TicketStatus) == TicketStatus.WORKING | TicketStatus.DONE
