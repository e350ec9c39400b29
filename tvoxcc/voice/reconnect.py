"""What the ACD cached about Asterisk, checked again after every reconnect.

A reconnect may follow a mere websocket drop (Asterisk kept everything) or an Asterisk restart (every
bridge, channel, playback and subscription is gone, and ids we kept point at nothing). Nothing is assumed
either way: each holding bridge is looked up (a GET) and forgotten when Asterisk no longer has it (the next
caller makes a new one), and the channels we track are compared with the ones Asterisk has, so calls whose
channels are gone are closed instead of waiting for a hang-up event that will never come.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from tvoxcc.ari import AriClient, AriError, NotFound

log = logging.getLogger(__name__)


def gone(tracked: Iterable[str], live: set[str]) -> list[str]:
    """The tracked channel ids Asterisk no longer has, in order, each once."""
    return list(dict.fromkeys(channel for channel in tracked if channel not in live))


async def lost_bridges(ari: AriClient, bridges: Mapping[str, str]) -> list[str]:
    """The keys of ``bridges`` (key -> bridge id) whose bridge Asterisk no longer has.

    Only a 404 proves a bridge gone; any other error keeps it (the caller's add to it is checked anyway).
    """
    lost = []
    for key, bridge_id in bridges.items():
        try:
            await ari.bridges.get(bridge_id)
        except NotFound:
            lost.append(key)
        except AriError as exc:
            log.warning("ACD: cannot check bridge %s of %s: %s", bridge_id, key, exc)
    return lost


async def live_channels(ari: AriClient) -> set[str] | None:
    """Every channel id Asterisk has now; None when it cannot say (then nothing is dropped)."""
    try:
        return {channel.id for channel in await ari.channels.list()}
    except AriError as exc:
        log.warning("ACD: cannot list channels after reconnecting: %s", exc)
        return None
