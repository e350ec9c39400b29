"""The one policy for real components the tests need (servers, programs, the lab Asterisk).

By default — `make test` on a fresh machine, and CI — a missing component FAILS the test: a skip would read as
"fine" and hide a broken setup. A developer without some program may opt in with ``TVOXCC_ALLOW_SKIP=1`` to
skip the tests that need it; CI (``CI=true``) ignores that opt-in. Only "not installed" (or "cannot run here",
such as not being root) may ever skip: an error while starting a component that is there is never caught
here, so it fails the test with its own traceback, opt-in or not.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

ALLOW_SKIP_ENV = "TVOXCC_ALLOW_SKIP"


def skips_allowed() -> bool:
    """True only when a developer opted in (TVOXCC_ALLOW_SKIP=1) outside CI."""
    in_ci = os.environ.get("CI", "").lower() == "true"
    return os.environ.get(ALLOW_SKIP_ENV) == "1" and not in_ci


def component_missing(reason: str) -> NoReturn:
    """A component is not installed (or cannot run here): fail, or skip if the developer opted in."""
    if skips_allowed():
        pytest.skip(reason)
    pytest.fail(f"{reason} (set {ALLOW_SKIP_ENV}=1 to skip instead, outside CI)", pytrace=False)


def require_program(name: str, install_hint: str = "") -> str:
    """The path of program ``name``; a missing one goes through ``component_missing``."""
    path = shutil.which(name)
    if path is None:
        component_missing(f"{name} not installed" + (f" ({install_hint})" if install_hint else ""))
    return path
