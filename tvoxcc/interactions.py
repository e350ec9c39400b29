"""The vocabulary of interactions, for every channel that records one and every reader: one declaration each.

An interaction (``tvoxcc.store.models.Interaction``) is one contact attempt on one channel
(``tvoxcc.queues.model.Channel``, the universal queue's channels) in one ``Direction``; it ends with an
``Outcome``; its append-only events (``InteractionEvent.kind``) are the router's facts
(``tvoxcc.queues.model.EventKind``), the IVR's notes (``tvoxcc.ivr.commands.IvrNote``) and the adapters' own
``InteractionEventKind``. The values are what the store holds: never rename one.

Pure: no I/O, nothing beyond the standard library and the queue core's plain values.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from tvoxcc.queues.model import Channel


class Direction(StrEnum):
    INBOUND = "inbound"  # the customer started it
    OUTBOUND = "outbound"  # we did: a callback attempt, a mail we sent
    INTERNAL = "internal"


class Outcome(StrEnum):
    """How an interaction ended; two values stand while it lasts (``QUEUED``, ``TRANSFERRED``)."""

    QUEUED = "queued"  # waiting in a queue (the queue closes it)
    TRANSFERRED = "transferred"  # handed to the dialplan (a transfer node), until the IVR closes it
    ANSWERED = "answered"
    ABANDONED = "abandoned"  # the caller hung up in the queue
    ABANDONED_IN_IVR = "abandoned-in-ivr"
    SHED = "shed"  # turned away by the overloaded voice service (busy message)
    FALLBACK = "fallback"  # handed to the dialplan's fallback: no IVR, or the service failed it
    CALLBACK = "callback"  # the caller left a number instead of waiting
    # A call the IVR ended keeps the IVR's exit (tvoxcc.ivr.commands.IvrExit), as these:
    VOICEMAIL = "voicemail"
    TRANSFER = "transfer"
    HANGUP = "hangup"
    LOOP_GUARD = "loop-guard"
    # A callback attempt that reached nobody:
    NO_ANSWER = "no-answer"
    NOT_DIALLED = "not-dialled"
    INTERRUPTED = "interrupted"  # the voice service stopped while it was dialled or served (how it ended: unknown)
    MACHINE = "machine"  # a campaign's line answered by an answering machine

    # Named groups (set below the class: enum members cannot be built inside their own class body).
    ABANDONS: ClassVar[frozenset[Outcome]]  # the caller gave up before an agent took the call
    HANDED_ON: ClassVar[frozenset[Outcome]]  # left a queue on purpose: not counted as abandoned


Outcome.ABANDONS = frozenset({Outcome.ABANDONED, Outcome.ABANDONED_IN_IVR})
Outcome.HANDED_ON = frozenset({Outcome.TRANSFERRED, Outcome.CALLBACK})


class InteractionEventKind(StrEnum):
    """The adapters' own events; the router's (``item-queued``…) and the IVR's (``ivr-node``…) come from their
    own vocabularies."""

    OFFERED = "offered"  # the interaction came in
    RESUMED = "resumed"  # a restarted voice service took the call back
    QUEUED = "queued"  # where a call waits and what its IVR set (tvoxcc.voice.directory.QueuePoint)
    ENDED = "ended"
    DIALING = "dialing"  # a callback attempt is placed
    VOICEMAIL_TICKET = "voicemail-ticket"
    CALLBACK_COMPLETED = "callback-completed"
    WRAPUP_STARTED = "wrapup-started"
    WRAPUP_ENDED = "wrapup-ended"
    MAIL_QUEUED = "mail-queued"  # a mail we send waits in the outbox


# Phone conversations: a callback is a phone call back.
CALL_CHANNELS: frozenset[Channel] = frozenset({Channel.VOICE, Channel.CALLBACK})
