"""A script's YAML text -> Script, every problem one line ``FILE:LINE: path: why``.

PyYAML's node tree gives each key and item its line; a problem's path (``steps.greet.branches[0].goto``) is
looked up there, falling back to the nearest enclosing path that exists (a missing key: its mapping's line).
"""

from __future__ import annotations

import yaml

from tvoxcc.scripts.model import Problem, Script
from tvoxcc.scripts.read import read_script


class ScriptError(ValueError):
    """Every problem of a script file, one line each (``lines``)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def lines_of(node: yaml.Node, path: str = "", found: dict[str, int] | None = None) -> dict[str, int]:
    """Path -> 1-based line of every key and item under ``node``."""
    found = {} if found is None else found
    found.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = f"{path}.{key.value}" if path else str(key.value)
            found[child] = key.start_mark.line + 1
            lines_of(value, child, found)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = f"{path}[{i}]"
            found[child] = item.start_mark.line + 1
            lines_of(item, child, found)
    return found


def line_for(lines: dict[str, int], path: str) -> int:
    while path not in lines and path:
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return lines.get(path, 1)


def parse_script(text: str, source: str) -> Script:
    """The script in ``text``; ScriptError with every problem otherwise."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise ScriptError([f"{source}:{line}: not valid YAML ({getattr(exc, 'problem', None) or exc})"]) from None
    script, problems = read_script(data)
    if script is None:
        lines = lines_of(node) if node is not None else {}
        raise ScriptError([_located(source, lines, problem) for problem in problems])
    return script


def _located(source: str, lines: dict[str, int], problem: Problem) -> str:
    path, why = problem
    return f"{source}:{line_for(lines, path)}: {path + ': ' if path else ''}{why}"
