"""Call scripts, pure: reading a YAML script (every problem FILE:LINE: path: why), its graph checks, and walking
it with an agent's answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tvoxcc.scripts.checks import check_answers
from tvoxcc.scripts.read import read_script
from tvoxcc.scripts.source import ScriptError, parse_script

WINBACK = Path(__file__).parent / "data" / "scripts" / "winback.yaml"


def test_a_good_script_reads_back_from_its_own_data() -> None:
    script = parse_script(WINBACK.read_text(), "winback.yaml")
    assert (script.name, script.start, list(script.steps)) == ("winback", "greet", ["greet", "reason", "offer", "bye"])
    assert script.fields["interested"].choices() == ("yes", "no")
    again, problems = read_script(script.to_data())
    assert problems == [] and again == script


def test_answers_choose_the_path_and_are_checked_on_it() -> None:
    script = parse_script(WINBACK.read_text(), "winback.yaml")
    path, kept, problems = check_answers(script, {"interested": True, "plan": "plus", "seats": "3"})
    assert (path, kept, problems) == (
        ["greet", "offer", "bye"],
        {"interested": "yes", "plan": "plus", "seats": "3"},
        [],
    )
    path, kept, problems = check_answers(script, {"interested": "no", "why_not": "cheaper", "plan": "basic"})
    assert path == ["greet", "reason", "bye"]
    assert problems == [
        ("why_not", "one of price, service, moved, other"),
        ("plan", "not a field of the steps this call went through"),
    ]
    assert check_answers(script, {})[2] == [("interested", "required"), ("why_not", "required")]
    assert check_answers(script, {"interested": "yes", "plan": "plus", "seats": "many"})[2] == [("seats", "a number")]


BAD = """\
name: Bad Name
start: greet
steps:
  greet:
    fields:
      - {name: plan, type: choice, options: [only]}
      - {name: mood, type: feelings}
    branches:
      - {field: plan, equals: gold, goto: nowhere}
    colour: red
"""


def test_every_problem_is_one_line_with_file_and_line() -> None:
    with pytest.raises(ScriptError) as caught:
        parse_script(BAD, "bad.yaml")
    assert caught.value.lines == [
        "bad.yaml:1: name: 'Bad Name' is not a name (lowercase letters, digits, - and _)",
        "bad.yaml:10: steps.greet.colour: unknown key 'colour' (one of branches, fields, next, say)",
        "bad.yaml:6: steps.greet.fields[0].options: a choice needs at least two options",
        "bad.yaml:7: steps.greet.fields[1].type: unknown type 'feelings' (one of text, number, yesno, choice)",
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: s\nstart: a\nsteps:\n  a: {next: b}\n", "x.yaml:4: steps.a.next: unknown step 'b'"),
        ("name: s\nstart: z\nsteps:\n  a: {}\n", "x.yaml:2: start: unknown step 'z'"),
        ("name: s\nstart: a\nsteps:\n  a: {}\n  b: {}\n", "x.yaml:5: steps.b: unreachable from start 'a'"),
        (
            "name: s\nstart: a\nsteps:\n  a: {next: b}\n  b: {next: a}\n",
            "x.yaml:4: steps.a: the script loops: a -> b -> a",
        ),
        (
            "name: s\nstart: a\nsteps:\n  a:\n    fields: [{name: ok, type: yesno}]\n"
            "    branches: [{field: ok, equals: maybe, goto: b}]\n  b: {}\n",
            "x.yaml:6: steps.a.branches[0].equals: 'maybe' is not an answer of 'ok' (yes, no)",
        ),
        ("name: s\nstart: a\nsteps: [1\n", "x.yaml:4: not valid YAML (expected ',' or ']', but got '<stream end>')"),
    ],
)
def test_graph_problems_name_their_line(text: str, line: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_script(text, "x.yaml")
    assert caught.value.lines == [line]
