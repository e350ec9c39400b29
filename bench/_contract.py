"""What every bench in bench/ keeps, so `make bench` can run them all and trust their exit codes.

- it takes ``--quick`` (a short run that still checks its aim),
- its module docstring states its aim in a paragraph starting ``Aim:``, and the first line it prints is that aim,
- it prints its figures, then whether each aimed figure is met,
- its last line is exactly one ``ratio <what>: X`` (its figure against the baseline measured in the same run),
- it exits 1 when it missed its aim (any error exits non-zero too: Python's traceback, argparse's 2).

A bench script imports this module as ``from _contract import Aim, arguments``: a script's own directory is
first on ``sys.path``, so this works whatever else is installed. The leading underscore keeps it out of
`make bench` (``bench/[!_]*.py``).

    parser = arguments(__doc__)                 # --quick, plus the bench's own options
    args = parser.parse_args()
    aim = Aim(__doc__, quick=args.quick)        # prints "aim: …" first
    …
    aim.check(f"api p95 {p95:.2f} ms <= 20 ms", p95 <= 20)
    aim.finish("api p95 / raw p95", p95 / raw)  # the ratio line, last; exits 1 if a check missed
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

MISSED_EXIT = 1


def aim_of(doc: str) -> str:
    """The docstring's ``Aim:`` paragraph on one line."""
    paragraphs = [" ".join(p.split()) for p in doc.split("\n\n")]
    for paragraph in paragraphs:
        if paragraph.startswith("Aim:"):
            return paragraph.removeprefix("Aim:").strip()
    raise ValueError("the bench's docstring has no 'Aim:' paragraph")


def arguments(doc: str) -> argparse.ArgumentParser:
    """A parser whose description is the docstring's first line, with ``--quick`` already in it."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run that still checks the aim")
    return parser


class Aim:
    """The bench's aim: printed first, checked figure by figure, settled by the ratio line and the exit code."""

    def __init__(self, doc: str, *, quick: bool) -> None:
        self.checked: list[str] = []
        self.missed: list[str] = []
        print(f"aim{' (--quick)' if quick else ''}: {aim_of(doc)}", flush=True)

    def check(self, what: str, met: bool) -> bool:
        """Print ``met: <what>`` or ``MISSED: <what>`` (``what`` holds the figure and its target)."""
        print(f"{'met' if met else 'MISSED'}: {what}", flush=True)
        self.checked.append(what)
        if not met:
            self.missed.append(what)
        return met

    def finish(self, label: str, value: float, *, digits: int = 2) -> NoReturn:
        """The last line, ``ratio <label>: <value>``; exit 1 when any check missed, 0 otherwise."""
        if not self.checked:  # a bench that checks nothing cannot fail: that is a bug in the bench
            raise RuntimeError("the bench finished without checking its aim")
        print(f"ratio {label}: {value:.{digits}f}", flush=True)
        sys.exit(MISSED_EXIT if self.missed else 0)
