"""A listen session's audit trail: the pure steps a row change makes, and a session a restarted voice
service ends (``end_orphan``) audited as ended, on SQLite and PostgreSQL, with the chain intact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tvoxcc import audit
from tvoxcc.audit.actions import AuditAction as A
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.supervision.rights import Target
from tvoxcc.supervision.session import ListenSession, Mode, Origin
from tvoxcc.supervision.store import ListenStore, Request, state_of
from tvoxcc.supervision.trail import Stored, actor, steps

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def stored(session: ListenSession) -> Stored:
    state = state_of(session)
    return Stored(state["phase"], state["modes"], state["started_at"] is not None)


def actions(found: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(step.action.value, step.detail) for step in found]


def test_each_change_is_one_step_and_a_save_without_change_none() -> None:
    session = ListenSession(Mode.WHISPER, T0)
    assert actions(steps(None, state_of(session), "whisper")) == [("listen.requested", {"mode": "whisper"})]
    before = stored(session)
    session.authorise(None, T0)
    assert actions(steps(before, state_of(session), "whisper")) == [("listen.started", {"mode": "whisper"})]
    before = stored(session)
    assert steps(before, state_of(session), "whisper") == []  # saved again, nothing new
    session.digit("1", T0 + timedelta(seconds=3))
    session.digit("3", T0 + timedelta(seconds=4))
    assert actions(steps(before, state_of(session), "whisper")) == [
        ("listen.mode", {"mode": "listen"}),
        ("listen.mode", {"mode": "barge"}),
    ]
    before = stored(session)
    session.supervisor_left(T0 + timedelta(seconds=10))
    assert actions(steps(before, state_of(session), "whisper")) == [
        ("listen.ended", {"reason": "supervisor-hung-up", "duration_s": 10.0})
    ]


def test_a_phone_request_decided_at_once_gets_every_step_in_order() -> None:
    session = ListenSession(Mode.LISTEN, T0)
    session.authorise("bridge", T0)
    session.digit("2", T0)
    assert [s.action for s in steps(None, state_of(session), "listen")] == [
        A.LISTEN_REQUESTED,
        A.LISTEN_STARTED,
        A.LISTEN_MODE,
    ]
    assert (actor("phone", "sara"), actor(Origin.WEB, "sara")) == ("phone:sara", "web:sara")


async def test_a_session_left_by_a_previous_run_is_audited_as_ended(store: Store) -> None:
    async with store.session() as s:
        tenant = m.Tenant(name="acme")
        s.add(tenant)
        await s.commit()
    listen = ListenStore(store)
    session = ListenSession(Mode.LISTEN, T0)
    session.authorise("bridge", T0)
    asked = Request(Origin.PHONE, "acme", "sara", None, "acme-sara", "1001", "1001", Mode.LISTEN)
    row_id = await listen.open(asked, session, Target(tenant.id, "acme", "alice", "1001"))
    await listen.end_orphan(row_id, T0 + timedelta(seconds=30))
    await listen.end_orphan(row_id, T0 + timedelta(seconds=40))  # already ended: nothing more
    async with store.session() as s:
        rows = await audit.entries(s, tenant="acme")
        assert await audit.verify(s) == (3, None)
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("listen.requested", "phone:sara"),
        ("listen.started", "phone:sara"),
        ("listen.ended", "phone:sara"),
    ]
    assert rows[2]["detail"] == {"session": row_id, "origin": "phone", "reason": "failed", "duration_s": 30.0}
