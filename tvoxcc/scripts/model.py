"""A call script as plain values (pure): steps of fields, branches on the answers, and where each leads.

Read from data by tvoxcc.scripts.read; checked by tvoxcc.scripts.checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Problem = tuple[str, str]


class FieldKind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    YESNO = "yesno"
    CHOICE = "choice"


YES_NO = ("yes", "no")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = False
    options: tuple[str, ...] = ()

    def choices(self) -> tuple[str, ...]:
        return YES_NO if self.kind is FieldKind.YESNO else self.options


@dataclass(frozen=True)
class Branch:
    field: str
    equals: str
    goto: str


@dataclass(frozen=True)
class Step:
    name: str
    say: str = ""
    fields: tuple[Field, ...] = ()
    branches: tuple[Branch, ...] = ()
    next: str | None = None

    def targets(self) -> list[tuple[str, str]]:
        """(path below the step, step name) of every step this one may lead to."""
        found = [(f"branches[{i}].goto", b.goto) for i, b in enumerate(self.branches)]
        return found + ([("next", self.next)] if self.next else [])


@dataclass(frozen=True)
class Script:
    name: str
    start: str
    steps: Mapping[str, Step]
    title: str = ""
    fields: Mapping[str, Field] = field(default_factory=dict)  # every step's fields by name

    def to_data(self) -> dict[str, Any]:
        """The data ``read_script`` reads back (stored as the row's spec, served by the web API)."""
        return {
            "name": self.name,
            "title": self.title,
            "start": self.start,
            "steps": {
                s.name: {
                    "say": s.say,
                    "fields": [
                        {"name": f.name, "label": f.label, "type": f.kind.value, "required": f.required,
                         "options": list(f.choices())}
                        for f in s.fields
                    ],
                    "branches": [{"field": b.field, "equals": b.equals, "goto": b.goto} for b in s.branches],
                    "next": s.next,
                }
                for s in self.steps.values()
            },
        }  # fmt: skip
