"""Reading imaplib's FETCH answer: bodies by UID, wherever the server puts the UID, unsolicited answers skipped."""

from __future__ import annotations

from tvoxcc.mail.imap import bodies_by_uid
from tvoxcc.mail.ingest import batches


def test_uid_before_or_after_the_body_and_unsolicited_answers_skipped() -> None:
    data = [
        (b"1 (UID 11 BODY[] {5}", b"hello"),
        b")",
        b"4 (FLAGS (\\Seen) UID 40)",  # a flag change reported meanwhile: no body
        (b"2 (BODY[] {3}", b"abc"),
        b" UID 12)",
        (b"3 (UID 13 FLAGS () BODY[] {0}", b""),
        b")",
        (b"5 (BODY[HEADER] {2}", b"hi"),  # not the whole body
        b" UID 15)",
    ]
    assert bodies_by_uid(data) == {11: b"hello", 12: b"abc", 13: b""}


def test_a_body_without_any_uid_is_left_out() -> None:
    assert bodies_by_uid([(b"1 (BODY[] {1}", b"x"), b")"]) == {}


def test_batches_cut_by_count_and_by_bytes_a_big_mail_alone() -> None:
    sizes = {1: 10, 2: 10, 3: 10, 4: 10, 5: 100, 6: 10}
    assert batches(sizes, mails=3, size=1000) == [[1, 2, 3], [4, 5, 6]]
    assert batches(sizes, mails=10, size=35) == [[1, 2, 3], [4], [5], [6]]
    assert batches({}, mails=3, size=35) == []
