"""A call script read from data with every problem named by its path (pure, no I/O).

    name: winback                       # per tenant
    title: Win-back offer
    start: greet
    steps:
      greet:
        say: "Hello, I am calling from Acme about your subscription."
        fields:
          - {name: interested, label: Interested?, type: yesno, required: true}
        branches:
          - {field: interested, equals: "yes", goto: offer}
        next: bye                       # when no branch matches (none: the script ends here)
      offer:
        fields:
          - {name: plan, type: choice, options: [basic, plus], required: true}
        next: bye
      bye: {say: "Thank you, goodbye."}

Problems are ``(path, why)``: the path as it stands in the data (``steps.greet.branches[0].goto``), which the
YAML reader (tvoxcc.scripts.source) turns into FILE:LINE.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tvoxcc.scripts.checks import check_script
from tvoxcc.scripts.model import YES_NO, Branch, Field, FieldKind, Problem, Script, Step

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_SCRIPT_KEYS = {"name", "title", "start", "steps"}
_STEP_KEYS = {"say", "fields", "branches", "next"}
_FIELD_KEYS = {"name", "label", "type", "required", "options"}
_BRANCH_KEYS = {"field", "equals", "goto"}


def _unknown(data: Mapping[str, Any], allowed: set[str], path: str) -> list[Problem]:
    prefix = f"{path}." if path else ""
    return [(f"{prefix}{key}", f"unknown key {key!r} (one of {', '.join(sorted(allowed))})")
            for key in data if key not in allowed]  # fmt: skip


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def read_script(data: Any) -> tuple[Script | None, list[Problem]]:
    """The script in ``data``, or None and every problem found (shape first, then the checks)."""
    if not isinstance(data, Mapping):
        return None, [("", "expected a mapping with name, start and steps")]
    problems = _unknown(data, _SCRIPT_KEYS, "")
    name = _text(data.get("name"))
    if not NAME.match(name):
        problems.append(("name", f"{name!r} is not a name (lowercase letters, digits, - and _)"))
    steps_data = data.get("steps")
    if not isinstance(steps_data, Mapping) or not steps_data:
        problems.append(("steps", "expected a mapping of step names to steps"))
        return None, problems
    steps: dict[str, Step] = {}
    for step_name, step_data in steps_data.items():
        step, found = _read_step(str(step_name), step_data, f"steps.{step_name}")
        problems += found
        if step is not None:
            steps[step.name] = step
    start = _text(data.get("start"))
    script = Script(name, start, steps, _text(data.get("title")))
    fields: dict[str, Field] = {}
    for step in steps.values():
        for i, f in enumerate(step.fields):
            if f.name in fields:
                problems.append((f"steps.{step.name}.fields[{i}].name", f"field {f.name!r} is defined twice"))
            fields[f.name] = f
    script = Script(name, start, steps, script.title, fields)
    if not problems:
        problems = check_script(script)
    return (None if problems else script), problems


def _read_step(name: str, data: Any, path: str) -> tuple[Step | None, list[Problem]]:
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        return None, [(path, "expected a mapping (say, fields, branches, next)")]
    problems = _unknown(data, _STEP_KEYS, path)
    if not NAME.match(name):
        problems.append((path, f"{name!r} is not a step name (lowercase letters, digits, - and _)"))
    fields: list[Field] = []
    for i, item in enumerate(data.get("fields") or []):
        f, found = _read_field(item, f"{path}.fields[{i}]")
        problems += found
        if f is not None:
            fields.append(f)
    branches: list[Branch] = []
    for i, item in enumerate(data.get("branches") or []):
        where = f"{path}.branches[{i}]"
        if not isinstance(item, Mapping) or not {"field", "equals", "goto"} <= set(item):
            problems.append((where, "expected {field: …, equals: …, goto: …}"))
            continue
        problems += _unknown(item, _BRANCH_KEYS, where)
        branches.append(Branch(_text(item["field"]), _answer_text(item["equals"]), _text(item["goto"])))
    following = data.get("next")
    step = Step(name, _text(data.get("say")), tuple(fields), tuple(branches), _text(following) if following else None)
    return step, problems


def _answer_text(value: Any) -> str:
    """YAML reads yes/no as booleans: a branch on a yes/no field compares the words."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _text(value)


def _read_field(data: Any, path: str) -> tuple[Field | None, list[Problem]]:
    if not isinstance(data, Mapping) or "name" not in data:
        return None, [(path, "expected a mapping with at least a name")]
    problems = _unknown(data, _FIELD_KEYS, path)
    name = _text(data["name"])
    if not NAME.match(name):
        problems.append((f"{path}.name", f"{name!r} is not a field name (lowercase letters, digits, - and _)"))
    kind_text = _text(data.get("type", FieldKind.TEXT.value))
    if kind_text not in {k.value for k in FieldKind}:
        problems.append(
            (f"{path}.type", f"unknown type {kind_text!r} (one of {', '.join(k.value for k in FieldKind)})")
        )
        return None, problems
    kind = FieldKind(kind_text)
    options = tuple(_answer_text(o) for o in (data.get("options") or []))
    if kind is FieldKind.CHOICE and len(options) < 2:
        problems.append((f"{path}.options", "a choice needs at least two options"))
    if kind is FieldKind.YESNO and options == YES_NO:
        options = ()  # as to_data writes it: its answers
    elif kind is not FieldKind.CHOICE and options:
        problems.append((f"{path}.options", f"only a choice has options (this field is {kind.value})"))
    required = data.get("required", False)
    if not isinstance(required, bool):
        problems.append((f"{path}.required", "expected true or false"))
    label = _text(data.get("label")) or name.replace("_", " ").capitalize()
    return Field(name, label, kind, bool(required), options), problems
