"""How many lines to have ringing: progressive (one per free agent) and predictive (more, held by the ledger).

Predictive pacing treats each ringing line as a coin that comes up "a person answered" with the measured
live-answer rate p, so the people who will answer the N lines in flight are X ~ Binomial(N, p). It keeps the
largest N (never fewer than the lines already ringing) such that

1. the expected abandons E[max(0, X - A)] stay within the target rate of the expected answers E[X], where A is
   the free agents plus the agents the forecast expects free by the time a line is answered (wrap-ups ending,
   talks ending at the measured talk time); and
2. the lines ringing beyond the free agents (less the people already waiting for one) are at most the ledger's
   headroom, the abandons its window can still take: even if every one of them were answered and no agent
   freed up, the window would stay within 3%. Each event keeps this (an answer takes a free agent or waits,
   an abandon spends one of headroom and one waiting person alike), so only an agent leaving while lines
   ring, or the UK rule's machine estimate, can push the rate over; the pacing then dials nothing beyond the
   free agents until the window has room again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tvoxcc.campaigns.model import PacingConfig


@dataclass(frozen=True, slots=True)
class PacingView:
    free_agents: int  # logged in, not talking, not wrapping, not reserved, not paused
    expected_free: float  # agents the forecast expects to become free within the horizon
    logged_in: int
    lines_in_flight: int  # ringing, not yet answered
    live_rate: float  # measured share of lines answered by a person
    headroom: float  # abandons the ledger's window can still take (AbandonLedger.headroom)


def progressive_lines(view: PacingView) -> int:
    """One line per free agent (each line's agent is reserved before it is dialled)."""
    return max(view.free_agents, 0)


def predictive_lines(view: PacingView, config: PacingConfig) -> int:
    """The total lines to have ringing (those already ringing included)."""
    p = min(max(view.live_rate, 1e-6), 1.0)
    agents_forecast = view.free_agents + math.floor(view.expected_free)
    cap = max(math.floor(config.max_lines_per_agent * view.logged_in), view.lines_in_flight)
    headroom = max(math.floor(view.headroom), 0)  # lines up to the free agents cannot be abandoned
    n = view.lines_in_flight
    pmf = _binomial_pmf(n, p)
    while n < cap:
        candidate = _add_line(pmf, p)
        if n + 1 > view.free_agents + headroom or not _acceptable(candidate, p, n + 1, agents_forecast, config):
            break
        pmf, n = candidate, n + 1
    return n


def _acceptable(pmf: list[float], p: float, n: int, agents: int, config: PacingConfig) -> bool:
    expected_abandons = sum(prob * (k - agents) for k, prob in enumerate(pmf) if k > agents)
    return expected_abandons <= config.target_abandon_rate * n * p


def _binomial_pmf(n: int, p: float) -> list[float]:
    if p >= 1.0:
        return [0.0] * n + [1.0]
    log_p, log_q, log_n = math.log(p), math.log1p(-p), math.lgamma(n + 1)
    return [
        math.exp(log_n - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q)
        for k in range(n + 1)
    ]


def _add_line(pmf: list[float], p: float) -> list[float]:
    q = 1.0 - p
    grown = [prob * q for prob in pmf] + [0.0]
    for k, prob in enumerate(pmf):
        grown[k + 1] += prob * p
    return grown
