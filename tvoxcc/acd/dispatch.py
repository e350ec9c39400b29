"""A request read from acd_inputs, as the AcdService call of the same name (tvoxcc.acd.kinds.InputKind)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tvoxcc.acd.commands import NewItem
from tvoxcc.acd.inputs import Input
from tvoxcc.acd.kinds import InputKind
from tvoxcc.queues import model as q

if TYPE_CHECKING:
    from tvoxcc.acd.service import AcdService


def dispatch(acd: AcdService, request: Input) -> None:
    kind, item, agent, p = request.kind, request.item_id or "", request.agent_id or "", request.payload
    if kind is InputKind.SUBMIT:
        acd.submit(
            NewItem(
                str(p["queue"]),
                q.Channel(p.get("channel", "voice")),
                p.get("tenant_id"),
                item,
                int(p.get("priority", 0)),
                str(p.get("caller_id", "")),
                str(p.get("callback_number", "")),
                dict(p.get("skills", {})),
                str(p.get("ref", "")),
                bool(p.get("auto_accept", False)),
                None if p.get("arrived_at") is None else float(p["arrived_at"]),
            )
        )
        return
    handlers: dict[InputKind, Callable[[], object]] = {
        InputKind.ACCEPT: lambda: acd.accept(item, agent),
        InputKind.DECLINE: lambda: acd.decline(item, agent),
        InputKind.COMPLETE: lambda: acd.complete(item, by_caller=bool(p.get("by_caller", False))),
        InputKind.ABANDON: lambda: acd.abandon(item),
        InputKind.LOGIN: lambda: acd.login(agent, interface=str(p.get("interface", ""))),
        InputKind.LOGOUT: lambda: acd.logout(agent),
        InputKind.PAUSE: lambda: acd.pause(agent, str(p.get("code", "pause"))),
        InputKind.UNPAUSE: lambda: acd.unpause(agent),
        InputKind.END_WRAPUP: lambda: acd.end_wrapup(agent),
        InputKind.PULL: lambda: acd.pull(agent, q.Channel(p.get("channel", "mail"))),
        InputKind.REQUEST_CALLBACK: lambda: acd.request_callback(item, str(p.get("number", ""))),
        InputKind.CALLBACK_ANSWERED: lambda: acd.callback_answered(item),
        InputKind.CALLBACK_FAILED: lambda: acd.callback_failed(item),
    }
    handlers[kind]()
