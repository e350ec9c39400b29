"""The listen session's state machine and the rights rule (pure: no Asterisk, no store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tvoxcc.supervision.rights import Target, refusal
from tvoxcc.supervision.session import (
    DropSnoop,
    EndReason,
    Finish,
    HangupSupervisor,
    JoinCall,
    ListenSession,
    Mode,
    Phase,
    Refusal,
    Refuse,
    Snoop,
)
from tvoxcc.web.access import Principal

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_listen_then_whisper_then_barge_then_back_to_listen() -> None:
    session = ListenSession(Mode.LISTEN, T0)
    assert session.authorise("call-bridge", at(1)) == [Snoop("both", "none", fetch_supervisor=True)]
    assert session.digit("1", at(2)) == []  # already listening
    assert session.digit("2", at(3)) == [Snoop("both", "out", fetch_supervisor=False), DropSnoop()]
    assert session.digit("3", at(4)) == [JoinCall("call-bridge"), DropSnoop()]
    assert session.digit("9", at(5)) == []  # not a mode
    assert session.digit("1", at(6)) == [Snoop("both", "none", fetch_supervisor=True)]  # out of the call's bridge
    assert [c.mode for c in session.changes] == [Mode.LISTEN, Mode.WHISPER, Mode.BARGE, Mode.LISTEN]
    assert session.agent_left(at(10)) == [DropSnoop(), HangupSupervisor(), Finish()]
    assert (session.phase, session.end_reason, session.duration_s) == (Phase.ENDED, EndReason.CALL_ENDED, 9.0)
    assert session.digit("2", at(11)) == [] and session.supervisor_left(at(11)) == []  # ended once


def test_barge_without_a_bridge_of_ours_is_a_two_way_snoop() -> None:
    session = ListenSession(Mode.BARGE, T0)
    assert session.authorise(None, at(1)) == [Snoop("both", "both", fetch_supervisor=True)]
    assert session.supervisor_left(at(2)) == [DropSnoop(), Finish()]  # their leg is gone already
    assert session.end_reason is EndReason.SUPERVISOR_HUNG_UP


def test_a_barging_supervisor_who_hangs_up_leaves_no_snoop_to_drop() -> None:
    session = ListenSession(Mode.BARGE, T0)
    assert session.authorise("b", at(1)) == [JoinCall("b")]
    assert session.supervisor_left(at(5)) == [Finish()]


def test_a_refusal_is_final() -> None:
    session = ListenSession(Mode.WHISPER, T0)
    assert session.refuse(Refusal.NOT_SUPERVISOR, at(1)) == [Refuse(Refusal.NOT_SUPERVISOR)]
    assert session.authorise("b", at(2)) == [] and session.digit("1", at(2)) == []
    assert (session.phase, session.started_at, session.duration_s) == (Phase.REFUSED, None, None)


def _who(role: str, tenant_id: int | None, agent: str | None = None) -> Principal:
    return Principal(1, "u", role, tenant_id, None if tenant_id is None else f"t{tenant_id}", agent)


def test_rights() -> None:
    alice = Target(1, "acme", "alice", "1001")
    assert refusal(_who("supervisor", 1, "bob"), alice) is None
    assert refusal(_who("admin", None), alice) is None  # an admin of every tenant
    assert refusal(None, alice) is Refusal.UNKNOWN_SUPERVISOR
    assert refusal(_who("agent", 1, "bob"), alice) is Refusal.NOT_SUPERVISOR
    assert refusal(_who("support", 1), alice) is Refusal.NOT_SUPERVISOR
    assert refusal(_who("supervisor", 2, "carol"), alice) is Refusal.OTHER_TENANT
    assert refusal(_who("supervisor", 1, "alice"), alice) is Refusal.OWN_CALL
    assert refusal(_who("supervisor", 1), None) is Refusal.UNKNOWN_AGENT


def test_a_supervisor_scoped_to_groups_may_listen_to_those_agents_only() -> None:
    alice, bob = Target(1, "acme", "alice", "201"), Target(1, "acme", "bob", "202")
    scoped = Principal(7, "sam", "supervisor", 1, "acme", scope=frozenset({"alice"}))
    assert refusal(scoped, alice) is None
    assert refusal(scoped, bob) is Refusal.OUT_OF_SCOPE
    assert refusal(Principal(7, "sam", "supervisor", 1, "acme", scope=frozenset()), alice) is Refusal.OUT_OF_SCOPE
    assert refusal(Principal(8, "sara", "supervisor", 1, "acme"), bob) is None  # unscoped: the whole tenant
    assert refusal(Principal(7, "sam", "supervisor", 2, "beta", scope=frozenset({"bob"})), bob) is Refusal.OTHER_TENANT
    assert refusal(Principal(9, "root", "admin", None, None), bob) is None
