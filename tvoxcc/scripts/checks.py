"""Checks over a well-formed script (its graph), and the answers an agent gives to it. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tvoxcc.scripts.model import Field, FieldKind, Problem, Script


def check_script(script: Script) -> list[Problem]:
    problems: list[Problem] = []
    steps = script.steps
    if script.start not in steps:
        problems.append(("start", f"unknown step {script.start!r}"))
    for step in steps.values():
        for where, target in step.targets():
            if target not in steps:
                problems.append((f"steps.{step.name}.{where}", f"unknown step {target!r}"))
            elif target == step.name:
                problems.append((f"steps.{step.name}.{where}", "a step must lead elsewhere"))
        for i, branch in enumerate(step.branches):
            where = f"steps.{step.name}.branches[{i}]"
            known = script.fields.get(branch.field)
            if known is None:
                problems.append((f"{where}.field", f"unknown field {branch.field!r}"))
            elif known.choices() and branch.equals not in known.choices():
                problems.append(
                    (f"{where}.equals", f"{branch.equals!r} is not an answer of {known.name!r} "
                     f"({', '.join(known.choices())})")
                )  # fmt: skip
    if problems:
        return problems  # reachability makes no sense over dangling edges
    reachable = _reachable(script)
    problems += [
        (f"steps.{name}", f"unreachable from start {script.start!r}") for name in steps if name not in reachable
    ]
    cycle = _cycle(script)
    if cycle:
        problems.append((f"steps.{cycle[0]}", f"the script loops: {' -> '.join(cycle)}"))
    return problems


def _reachable(script: Script) -> set[str]:
    seen, todo = set(), [script.start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [t for _w, t in script.steps[name].targets()]
    return seen


def _cycle(script: Script) -> list[str]:
    state = dict.fromkeys(script.steps, 0)  # 0 new, 1 on the path, 2 done

    def visit(name: str, path: list[str]) -> list[str]:
        state[name] = 1
        for _w, target in script.steps[name].targets():
            if state[target] == 1:
                return [*path[path.index(target) :], target]
            if state[target] == 0 and (found := visit(target, [*path, target])):
                return found
        state[name] = 2
        return []

    for name in script.steps:
        if state[name] == 0 and (found := visit(name, [name])):
            return found
    return []


def check_answers(script: Script, answers: Mapping[str, Any]) -> tuple[list[str], dict[str, str], list[Problem]]:
    """Walk the script with ``answers``: the steps taken, the answers kept (as text), and the problems
    (a required field unanswered on the way, a value its field does not take, a field of no step taken)."""
    problems: list[Problem] = []
    kept: dict[str, str] = {}
    path: list[str] = []
    name: str | None = script.start
    while name is not None and name not in path:
        step = script.steps[name]
        path.append(name)
        for f in step.fields:
            value = answers.get(f.name)
            text = "" if value is None else _answer(value)
            problem = _bad_value(f, text)
            if problem:
                problems.append((f.name, problem))
            elif text:
                kept[f.name] = text
        name = next((b.goto for b in step.branches if kept.get(b.field) == b.equals), step.next)
    taken = {f.name for step in path for f in script.steps[step].fields}
    problems += [(key, "not a field of the steps this call went through") for key in answers if key not in taken]
    return path, kept, problems


def _answer(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()[:1000]


def _bad_value(f: Field, text: str) -> str | None:
    if not text:
        return "required" if f.required else None
    if f.choices() and text not in f.choices():
        return f"one of {', '.join(f.choices())}"
    if f.kind is FieldKind.NUMBER:
        try:
            float(text)
        except ValueError:
            return "a number"
    return None
