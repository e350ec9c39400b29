"""A callback request's life (``Callback.status``) and the groups every reader uses. Pure: no I/O.

``PENDING`` (stored by the IVR, AGI or a queue's overflow) -> ``QUEUED`` (a running ACD holds it as a
work item) -> ``DIALING`` (an attempt rings the customer) -> ``ANSWERED`` (the customer picked up) ->
``DONE`` (they talked to an agent); a failed attempt goes back to ``QUEUED`` until the last, then
``FAILED``. An operator may cancel one not dialled yet (``CANCELLED``). The values are what the store
holds: never rename one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class CallbackStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    DIALING = "dialing"
    ANSWERED = "answered"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    # Named groups (set below the class: enum members cannot be built inside their own class body).
    OPEN: ClassVar[frozenset[CallbackStatus]]  # not over yet: what `tvoxcc callback list` shows
    CANCELLABLE: ClassVar[frozenset[CallbackStatus]]  # not dialled yet
    HELD: ClassVar[frozenset[CallbackStatus]]  # taken by a voice service (lost by it if it stopped)
    FINISHED: ClassVar[frozenset[CallbackStatus]]  # over, with a ``completed_at``


CallbackStatus.OPEN = frozenset(
    {CallbackStatus.PENDING, CallbackStatus.QUEUED, CallbackStatus.DIALING, CallbackStatus.ANSWERED}
)
CallbackStatus.CANCELLABLE = frozenset({CallbackStatus.PENDING, CallbackStatus.QUEUED})
CallbackStatus.HELD = frozenset({CallbackStatus.QUEUED, CallbackStatus.DIALING})
CallbackStatus.FINISHED = frozenset({CallbackStatus.DONE, CallbackStatus.FAILED, CallbackStatus.CANCELLED})
