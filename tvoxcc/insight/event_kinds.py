"""The stored event kinds and outcomes Insight reads, by their owners' names (tvoxcc.interactions lists them all)."""

from __future__ import annotations

from tvoxcc.interactions import InteractionEventKind as Kind
from tvoxcc.interactions import Outcome
from tvoxcc.queues.model import EventKind

PAUSED, UNPAUSED, LOGGED_OUT = EventKind.AGENT_PAUSED, EventKind.AGENT_UNPAUSED, EventKind.AGENT_LOGGED_OUT
COMPLETED, WRAPUP_STARTED, WRAPUP_ENDED = EventKind.ITEM_COMPLETED, Kind.WRAPUP_STARTED, Kind.WRAPUP_ENDED
CALLBACK_REQUESTED, CALLBACK_ANSWERED = EventKind.CALLBACK_REQUESTED, EventKind.CALLBACK_ANSWERED
RONA, TRANSFERRED = EventKind.RING_NO_ANSWER, Outcome.TRANSFERRED
SHED = Outcome.SHED  # the outcome of a call the voice service shed (tvoxcc.voice.overload)
AGENT_STATUS = EventKind.AGENT_STATUS
