"""Errors an admin can act on: each message is one line saying what and where."""

from __future__ import annotations


class AdminError(Exception):
    def __init__(self, *problems: str) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(problems))
