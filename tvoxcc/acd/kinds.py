"""The ACD service's vocabularies: what adapters ask (inputs) and what they are told to do (commands)."""

from __future__ import annotations

from enum import StrEnum


class InputKind(StrEnum):
    """A request an adapter writes to the ACD (a row of acd_inputs, or the in-process method of the same name)."""

    SUBMIT = "submit"  # a new work item (payload: queue, channel, priority, ref, caller id…)
    ACCEPT = "accept"  # the agent took the offer (answered the call, opened the chat…)
    DECLINE = "decline"  # the agent did not take it (ring-no-answer, declined)
    COMPLETE = "complete"  # the item is done (hung up, ticket solved…)
    ABANDON = "abandon"  # the customer left before being served
    LOGIN = "login"
    LOGOUT = "logout"
    PAUSE = "pause"  # payload: code
    UNPAUSE = "unpause"
    END_WRAPUP = "end-wrapup"
    PULL = "pull"  # the agent asks for their next item on a channel, even while paused (payload: channel)
    REQUEST_CALLBACK = "request-callback"  # payload: number
    CALLBACK_ANSWERED = "callback-answered"
    CALLBACK_FAILED = "callback-failed"


ITEM_INPUTS = frozenset(
    {
        InputKind.ACCEPT,
        InputKind.DECLINE,
        InputKind.COMPLETE,
        InputKind.ABANDON,
        InputKind.REQUEST_CALLBACK,
        InputKind.CALLBACK_ANSWERED,
        InputKind.CALLBACK_FAILED,
    }
)
AGENT_INPUTS = frozenset(
    {InputKind.LOGIN, InputKind.LOGOUT, InputKind.PAUSE, InputKind.UNPAUSE, InputKind.END_WRAPUP, InputKind.PULL}
)


class CommandKind(StrEnum):
    """What the ACD tells adapters (tvoxcc.queues.model's commands, one kind each)."""

    OFFER = "offer"
    CANCEL_OFFER = "cancel-offer"
    PLACE_CALLBACK = "place-callback"
    OVERFLOW = "overflow"
    EXIT_QUEUE = "exit-queue"
    START_WRAPUP = "start-wrapup"
    END_WRAPUP = "end-wrapup"
    PAUSE_AGENT = "pause-agent"
