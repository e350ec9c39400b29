"""Dovecot for tests: the reusable lab server (tvoxcc.mail.lab_dovecot) behind a missing-in-CI check."""

from __future__ import annotations

from tvoxcc.mail.lab_dovecot import LabDovecot, find_dovecot, start_dovecot

__all__ = ["LabDovecot", "dovecot_or_missing"]


def dovecot_or_missing(users: dict[str, str]) -> LabDovecot:
    from tests.conftest import missing

    if find_dovecot() is None:
        missing("Dovecot not installed (apt-get install dovecot-imapd)")
    return start_dovecot(users)
