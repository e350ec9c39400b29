"""What a waiting caller hears about their place in line, from Asterisk's own queue sounds."""

from __future__ import annotations

from tvoxcc.queues.model import WaitEstimate


def announcement(estimate: WaitEstimate) -> list[str]:
    """Media to play: the position ("you are next" / "there are N calls waiting"), then the estimated wait."""
    if estimate.position <= 1:
        media = ["sound:queue-youarenext"]
    else:
        media = ["sound:queue-thereare", f"number:{estimate.position - 1}", "sound:queue-callswaiting"]
    if estimate.ewt_s is not None and estimate.ewt_s >= 60:
        media += ["sound:queue-holdtime", f"number:{round(estimate.ewt_s / 60)}", "sound:queue-minutes"]
    elif estimate.ewt_s is not None and estimate.ewt_s > 0:
        media += ["sound:queue-holdtime", "sound:queue-less-than", "number:1", "sound:queue-minutes"]
    return media
