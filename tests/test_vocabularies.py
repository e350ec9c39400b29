"""The stored vocabularies: each value is what rows already hold (renaming one would need a migration), and the
named groups are the subsets their readers relied on when they spelled them out."""

from __future__ import annotations

from enum import StrEnum

import pytest

from tvoxcc.admin.spec import AgentSpec, OverflowRule, QueueSpec, ServiceSpec
from tvoxcc.campaigns.ledger import LedgerEntry
from tvoxcc.campaigns.model import FINAL_STATES, AbandonRule, CampaignStatus, DialMode, LineOutcome, RecordState
from tvoxcc.dispositions.core import Refused as DispositionRefused
from tvoxcc.interactions import CALL_CHANNELS, Direction, InteractionEventKind, Outcome
from tvoxcc.ivr.commands import IvrExit, IvrNote
from tvoxcc.kb.article import ArticleStatus, Visibility
from tvoxcc.queues.model import Channel
from tvoxcc.store import models as m
from tvoxcc.supervision.session import EndReason, Refusal
from tvoxcc.supervision.session import Mode as ListenMode
from tvoxcc.supervision.session import Origin as ListenOrigin
from tvoxcc.supervision.session import Phase as ListenPhase
from tvoxcc.support.status import MessageKind, TicketEventKind, TicketStatus
from tvoxcc.voice.callback_status import CallbackStatus

STORED: list[tuple[type[StrEnum], list[str]]] = [
    (Direction, ["inbound", "outbound", "internal"]),
    (
        Outcome,
        [
            "queued",
            "transferred",
            "answered",
            "abandoned",
            "abandoned-in-ivr",
            "shed",
            "fallback",
            "callback",
            "voicemail",
            "transfer",
            "hangup",
            "loop-guard",
            "no-answer",
            "not-dialled",
            "interrupted",
            "machine",
        ],
    ),
    (
        InteractionEventKind,
        [
            "offered",
            "resumed",
            "queued",
            "ended",
            "dialing",
            "voicemail-ticket",
            "callback-completed",
            "wrapup-started",
            "wrapup-ended",
            "mail-queued",
        ],
    ),
    (IvrNote, ["ivr-node", "ivr-input", "ivr-failed", "ivr-exit"]),
    (IvrExit, ["queue", "transfer", "callback", "voicemail", "hangup", "loop-guard", "caller-hangup"]),
    (TicketStatus, ["new", "open", "pending-customer", "solved", "closed"]),
    (TicketEventKind, ["status", "assigned", "first-response", "sla-breached", "priority"]),
    (MessageKind, ["inbound", "outbound", "note"]),
    (CallbackStatus, ["pending", "queued", "dialing", "answered", "done", "failed", "cancelled"]),
    (m.OutboxStatus, ["queued", "sent", "failed"]),
    (m.OutboxKind, ["ack", "reply", "solved"]),
    (ArticleStatus, ["draft", "published"]),
    (Visibility, ["public", "internal"]),
    (ListenMode, ["listen", "whisper", "barge"]),
    (ListenPhase, ["requested", "ringing", "refused", "active", "ended"]),
    (ListenOrigin, ["phone", "web"]),
    (
        Refusal,
        [
            "unknown-supervisor",
            "not-supervisor",
            "other-tenant",
            "unknown-agent",
            "own-call",
            "out-of-scope",
            "not-on-call",
            "no-phone",
        ],
    ),
    (EndReason, ["call-ended", "supervisor-hung-up", "failed"]),
    (RecordState, ["pending", "previewing", "dialing", "connected", "done", "exhausted", "do-not-call"]),
    (CampaignStatus, ["draft", "running", "paused", "stopped"]),
    (DialMode, ["preview", "progressive", "predictive"]),
    (AbandonRule, ["rolling-30-days", "24-hours"]),
    (LineOutcome, ["human", "machine", "busy", "no-answer", "failed", "abandoned"]),
    (LedgerEntry, ["live", "abandoned", "machine", "dropped"]),
    (DispositionRefused, ["unknown-agent", "unknown-code", "no-contact"]),
]


@pytest.mark.parametrize(("vocabulary", "values"), STORED, ids=[v.__name__ for v, _ in STORED])
def test_values_are_the_stored_strings(vocabulary: type[StrEnum], values: list[str]) -> None:
    assert [member.value for member in vocabulary] == values


def test_named_groups() -> None:
    assert {"abandoned", "abandoned-in-ivr"} == Outcome.ABANDONS
    assert {"transferred", "callback"} == Outcome.HANDED_ON
    assert {"voice", "callback"} == CALL_CHANNELS
    assert {"pending", "queued", "dialing", "answered"} == CallbackStatus.OPEN
    assert {"pending", "queued"} == CallbackStatus.CANCELLABLE and {"queued", "dialing"} == CallbackStatus.HELD
    assert {"done", "failed", "cancelled"} == CallbackStatus.FINISHED
    assert {"done", "exhausted", "do-not-call"} == FINAL_STATES
    assert set(CallbackStatus) == CallbackStatus.OPEN | CallbackStatus.FINISHED


def test_admin_documents_keep_plain_values_of_the_queue_core_vocabularies() -> None:
    """The tenant document names channels, strategies and overflow rules with the router's own enums, yet holds
    (and exports) the plain strings, defaults included."""
    queue = QueueSpec(name="q", service="s")
    assert type(queue.strategy) is str and queue.strategy == "longest-idle"
    agent = AgentSpec(name="a", extension="100", capacity={"voice": 1, "mail": 3})
    assert all(type(k) is str for k in agent.capacity) and agent.capacity == {Channel.VOICE: 1, Channel.MAIL: 3}
    assert ServiceSpec.model_validate({"name": "s"}).model_dump()["channels"] == ["voice"]
    rule = OverflowRule(when="wait", after_seconds=5, action="callback")
    assert rule.model_dump(exclude_none=True) == {"when": "wait", "after_seconds": 5, "action": "callback"}
    with pytest.raises(ValueError, match="Input should be 'voice', 'mail'"):
        AgentSpec(name="a", extension="100", capacity={"fax": 1})
