"""The missing-component policy (tests/components.py): fail by default, skip only a missing program on opt-in.

Each case catches every BaseException and names its type: a plain ``pytest.raises(Failed)`` would let an
unexpected Skipped through, and this very test would then read as "skipped" — the failure mode under test.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.components import ALLOW_SKIP_ENV, component_missing, require_program
from tests.e2e import conftest as e2e
from tvoxcc.lab.errors import LabError
from tvoxcc.lab.lab import Lab

FAILED, SKIPPED = pytest.fail.Exception, pytest.skip.Exception


def outcome_of(action: Callable[[], object]) -> BaseException | None:
    try:
        action()
    except BaseException as exc:  # the outcome exceptions (Failed, Skipped) are what this test looks at
        return exc
    return None


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No opt-in, not CI, and a PATH holding only an empty folder of ours; returns that folder."""
    monkeypatch.delenv(ALLOW_SKIP_ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    return tmp_path


def test_a_missing_program_fails_by_default(bare_env: Path) -> None:
    outcome = outcome_of(lambda: require_program("tvoxcc-no-such-program", "apt-get install it"))
    assert type(outcome) is FAILED
    assert "tvoxcc-no-such-program not installed (apt-get install it)" in str(outcome)
    assert f"{ALLOW_SKIP_ENV}=1" in str(outcome)  # the message says how to opt in


def test_a_missing_program_skips_only_with_the_opt_in(bare_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_SKIP_ENV, "1")
    outcome = outcome_of(lambda: require_program("tvoxcc-no-such-program"))
    assert type(outcome) is SKIPPED
    assert "tvoxcc-no-such-program not installed" in str(outcome)
    monkeypatch.setenv(ALLOW_SKIP_ENV, "yes")  # only "1" opts in
    assert type(outcome_of(lambda: component_missing("gone"))) is FAILED


def test_ci_ignores_the_opt_in(bare_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_SKIP_ENV, "1")
    monkeypatch.setenv("CI", "true")
    assert type(outcome_of(lambda: component_missing("Dovecot not installed"))) is FAILED


def test_an_installed_program_is_found(bare_env: Path) -> None:
    program = bare_env / "tvoxcc-fake-tool"
    program.write_text("#!/bin/sh\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    assert require_program("tvoxcc-fake-tool") == str(program)


def test_an_installed_lab_that_fails_to_start_fails_even_with_the_opt_in(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The e2e lab fixture's start: an error from tvoxcc/lab is raised as is (and cleaned up), never a skip."""
    monkeypatch.setenv(ALLOW_SKIP_ENV, "1")
    monkeypatch.delenv("CI", raising=False)

    def broken_up(self: Lab, inp: object = None) -> int:
        raise LabError("asterisk did not start: a bug in tvoxcc/lab")

    monkeypatch.setattr(Lab, "up", broken_up)
    base = tmp_path / "lab-base"
    base.mkdir()
    outcome = outcome_of(lambda: e2e.start_lab(base))
    assert type(outcome) is LabError
    assert "a bug in tvoxcc/lab" in str(outcome)
    assert not base.exists()  # cleaned up
