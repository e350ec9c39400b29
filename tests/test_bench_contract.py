"""The benches' contract (bench/_contract.py), and that every bench keeps it: `make bench` trusts exit codes.

No timing here (timing lives in the benches themselves): the contract's verdicts, and each bench's aim,
--quick and ratio line as written in its source.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
BENCHES = sorted(BENCH.glob("[!_]*.py"))

DOC = """A bench: one line.

Some figures.

Aim: p95 <= 20 ms
and <= 1.5x raw; exit 1 when missed.
"""


def load_contract() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_contract", BENCH / "_contract.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


contract = load_contract()


def test_the_aim_is_the_docstrings_aim_paragraph_on_one_line() -> None:
    assert contract.aim_of(DOC) == "p95 <= 20 ms and <= 1.5x raw; exit 1 when missed."


def test_a_docstring_without_an_aim_is_refused() -> None:
    with pytest.raises(ValueError, match="no 'Aim:' paragraph"):
        contract.aim_of("A bench.\n\nNo aim here.\n")


def test_quick_is_always_accepted() -> None:
    assert contract.arguments(DOC).parse_args(["--quick"]).quick is True
    assert contract.arguments(DOC).parse_args([]).quick is False


def test_a_missed_aim_exits_1_and_the_ratio_line_is_last(capsys: pytest.CaptureFixture[str]) -> None:
    aim = contract.Aim(DOC, quick=True)
    aim.check("api p95 12.00 ms <= 20 ms", True)
    aim.check("api p95 2.10x the raw p95 <= 1.5x", False)
    with pytest.raises(SystemExit) as exit_:
        aim.finish("api p95 / raw p95", 2.1)
    assert exit_.value.code == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "aim (--quick): p95 <= 20 ms and <= 1.5x raw; exit 1 when missed."
    assert lines[1:] == [
        "met: api p95 12.00 ms <= 20 ms",
        "MISSED: api p95 2.10x the raw p95 <= 1.5x",
        "ratio api p95 / raw p95: 2.10",
    ]


def test_every_aim_met_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    aim = contract.Aim(DOC, quick=False)
    aim.check("api p95 12.00 ms <= 20 ms", True)
    with pytest.raises(SystemExit) as exit_:
        aim.finish("api p95 / raw p95", 1.234, digits=1)
    assert exit_.value.code == 0
    assert capsys.readouterr().out.splitlines()[-1] == "ratio api p95 / raw p95: 1.2"


def test_a_bench_that_checked_nothing_cannot_pass() -> None:
    aim = contract.Aim(DOC, quick=False)
    with pytest.raises(RuntimeError, match="without checking its aim"):
        aim.finish("x / y", 1.0)


@pytest.mark.parametrize("path", BENCHES, ids=[p.name for p in BENCHES])
def test_every_bench_states_its_aim_and_uses_the_contract(path: Path) -> None:
    source = path.read_text()
    doc = compile(source, str(path), "exec").co_consts[0]
    assert isinstance(doc, str), f"{path.name} has no module docstring"
    assert contract.aim_of(doc)
    for needed in ("from _contract import", "arguments(__doc__)", "Aim(__doc__", ".check(", ".finish("):
        assert needed in source, f"{path.name} does not use the contract: no {needed!r}"


@pytest.mark.parametrize("path", BENCHES, ids=[p.name for p in BENCHES])
def test_every_bench_takes_quick(path: Path) -> None:
    shown = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "--quick" in shown.stdout
