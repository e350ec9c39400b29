"""Where an agent's live call is, as Asterisk sees it: the agent's answered leg and its bridge, if one of ours.

Asked of Asterisk rather than of the ACD, so a call the agent placed or took by extension is found too; only a
bridge our app made (a queue call's) can take a barging supervisor, any other call is barged with a snoop.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvoxcc.ari import AriClient

STASIS_BRIDGE = "stasis"  # bridge_class of bridges made over ARI


@dataclass(frozen=True, slots=True)
class AgentCall:
    channel_id: str  # the agent's leg
    bridge_id: str | None  # the call's bridge when our app made it


async def find_agent_call(ari: AriClient, endpoint: str) -> AgentCall | None:
    """The agent's answered leg that is bridged to someone (else any answered leg); None when not on a call."""
    prefix = f"PJSIP/{endpoint}-"
    legs = [c.id for c in await ari.channels.list() if c.name.startswith(prefix) and c.state == "Up"]
    if not legs:
        return None
    bridged: dict[str, tuple[str, str]] = {}
    for bridge in await ari.bridges.list():
        for channel_id in bridge.channels:
            if channel_id in legs and len(bridge.channels) > 1:
                bridged[channel_id] = (bridge.id, bridge.bridge_class)
    for leg in legs:
        if leg in bridged:
            bridge_id, bridge_class = bridged[leg]
            return AgentCall(leg, bridge_id if bridge_class == STASIS_BRIDGE else None)
    return AgentCall(legs[0], None)
