"""Validation of a flow before it is saved. Every problem names the node (``nodes.menu1.options.3``)."""

from __future__ import annotations

from collections.abc import Callable

from tvoxcc.ivr.nodes import INPUT_NODES, Flow, Menu, RequestCallback, ToQueue, prompts_of, targets


def check_flow(
    flow: Flow,
    *,
    queues: set[str] | None = None,
    prompt_exists: Callable[[str], bool] | None = None,
) -> list[str]:
    problems: list[str] = []
    nodes = flow.nodes
    if flow.start not in nodes:
        problems.append(f"start: unknown node {flow.start!r}")
    for node_id, node in nodes.items():
        for field, target in targets(node):
            if target not in nodes:
                problems.append(f"nodes.{node_id}.{field}: unknown node {target!r}")
        if isinstance(node, Menu):
            for digit, target in node.options.items():
                if target == node_id:
                    problems.append(f"nodes.{node_id}.options.{digit}: a menu option must lead elsewhere")
        if queues is not None and isinstance(node, ToQueue | RequestCallback) and node.queue not in queues:
            problems.append(f"nodes.{node_id}.queue: unknown queue {node.queue!r}")
        if prompt_exists is not None:
            for prompt in prompts_of(node):
                if not prompt_exists(prompt):
                    problems.append(f"nodes.{node_id}: missing prompt {prompt!r}")
    if problems:
        return problems  # reachability makes no sense over dangling edges
    reachable = _reachable(flow)
    for node_id in nodes:
        if node_id not in reachable:
            problems.append(f"nodes.{node_id}: unreachable from start {flow.start!r}")
    problems += _loops_without_input(flow)
    return problems


def _reachable(flow: Flow) -> set[str]:
    seen, todo = set(), [flow.start]
    while todo:
        node_id = todo.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        todo += [t for _f, t in targets(flow.nodes[node_id])]
    return seen


def _loops_without_input(flow: Flow) -> list[str]:
    """A cycle made only of nodes that never wait for the caller would spin forever."""
    passive = {i: [t for _f, t in targets(n)] for i, n in flow.nodes.items() if not isinstance(n, INPUT_NODES)}
    problems, state = [], dict.fromkeys(passive, 0)  # 0 new, 1 on the stack, 2 done

    def visit(node_id: str, path: list[str]) -> None:
        state[node_id] = 1
        for target in passive[node_id]:
            if target not in passive:
                continue
            if state[target] == 1:
                cycle = [*path[path.index(target) :], target] if target in path else [node_id, target]
                problems.append(f"nodes.{target}: loop without caller input: {' -> '.join(cycle)}")
            elif state[target] == 0:
                visit(target, [*path, target])
        state[node_id] = 2

    for node_id in passive:
        if state[node_id] == 0:
            visit(node_id, [node_id])
    return problems
