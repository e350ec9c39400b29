"""Calls a previous run left open in the store, though they are over: which to close at a resync (pure).

Two batched writers, each with its own linger, store a call: the ACD's rows and the interaction recorder
(tvoxcc.voice.recorder). A ``voice run`` killed after the ACD committed a call's end but before the recorder
wrote the interaction's leaves it open: at the restart the ACD holds no item for it any more (nothing of the
ACD's restart closes it) and Asterisk no longer has its channel (the app's resync never sees it). It would stay
open for ever: counted as a call in progress by every reader. The same holds for a call killed in the IVR whose
caller hung up while no service ran.

At a resync, an open inbound voice interaction (external id = its caller's channel) is over when its channel is
neither live in Asterisk nor held by the ACD (whose own restart closes what it holds). Only calls the listing
can speak for are judged:

- several Asterisk nodes: a channel id starts with its node's name (asterisk.conf ``systemname``); a node's
  resync judges its own node's calls only, so a node not (yet) connected never has its calls closed by another's
  listing. A resync of every node at once (no node named) judges nothing: nodes down would not be listed.
- calls offered after the listing was asked for are not given: the adapter asks for those offered before it
  (a call the listing missed because it came in meanwhile is not over).

Its outcome says what is known: answered (an agent took it: ``answered``, what the ACD's end would have
written), else ``interrupted`` (it ended while no service recorded it; how is not known).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from tvoxcc.interactions import Outcome


@dataclass(frozen=True, slots=True)
class OpenCall:
    """An open inbound voice interaction, as the store holds it."""

    tenant_id: int
    interaction_id: int
    channel_id: str  # its external id: the caller's Asterisk channel (the ACD's item id too)
    answered: bool  # an agent answered it (``answered_at`` set)


@dataclass(frozen=True, slots=True)
class Ending:
    call: OpenCall
    outcome: Outcome


def node_of(channel_id: str, nodes: Collection[str]) -> str | None:
    """The node whose ``systemname`` prefixes the channel's id; the longest name wins (``ast`` / ``ast-1``)."""
    owners = [node for node in nodes if channel_id.startswith(f"{node}-")]
    return max(owners, key=len, default=None)


def left_open(
    calls: Iterable[OpenCall],
    live: Collection[str],
    held: Collection[str],
    *,
    node: str | None = None,
    nodes: Collection[str] = (),
) -> list[Ending]:
    """The calls to close, with their outcome.

    ``live``: the channel ids Asterisk lists (of ``node`` when several); ``held``: the calls the ACD and the
    app hold; ``nodes``: every node's name when the service drives several (empty: one Asterisk, whose listing
    speaks for every call); ``node``: the node whose listing ``live`` is.
    """
    if nodes and node is None:
        return []  # a listing of every node up says nothing of the nodes down
    endings = []
    for call in calls:
        if call.channel_id in live or call.channel_id in held:
            continue
        if nodes and node_of(call.channel_id, nodes) != node:
            continue  # another node's call (or no node's): its own node's resync judges it
        endings.append(Ending(call, Outcome.ANSWERED if call.answered else Outcome.INTERRUPTED))
    return endings
