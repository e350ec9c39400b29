"""The store side of listen sessions: who asks, whom, and the ``listen_sessions`` rows.

Every write of a row also writes its audit rows (``supervision.trail``: requested, refused, started, mode
change, ended) in the same transaction, so the audit log and the rows cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc import audit
from tvoxcc.admin.hierarchy import supervised_agents
from tvoxcc.admin.repository import find_tenant
from tvoxcc.store import models as m
from tvoxcc.store import peek
from tvoxcc.store.engine import Store
from tvoxcc.supervision.rights import Target
from tvoxcc.supervision.session import EndReason, ListenSession, Mode, Origin, Phase
from tvoxcc.supervision.trail import Stored, actor, steps
from tvoxcc.web.access import Principal

# polled every second: built once (tvoxcc.store.peek)
_WEB_REQUESTED = peek.probe(
    select(m.ListenSession.id).where(
        m.ListenSession.phase == Phase.REQUESTED.value, m.ListenSession.origin == Origin.WEB.value
    )
)


@dataclass(frozen=True, slots=True)
class Request:
    """What a row says about a request before any decision."""

    origin: Origin
    tenant: str  # the tenant named (the phone's, or the web request's)
    supervisor: str  # the user's name when known, else the phone's agent name
    supervisor_user_id: int | None
    supervisor_phone: str
    agent: str  # the agent's name when known, else what was dialled
    extension: str
    mode: Mode


@dataclass(frozen=True, slots=True)
class WebRequest:
    """A stored web request the voice service has claimed: ring ``phone``, then run the session."""

    row_id: int
    phone: str
    tenant: str
    agent: str
    mode: Mode


class ListenStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def requester_by_phone(self, tenant: str, agent: str) -> Principal | None:
        """The user linked to the agent whose phone dialled (User.agent_id)."""
        async with self.store.session() as session:
            row = (
                await session.execute(
                    select(m.User, m.Tenant.name)
                    .join(m.Agent, m.Agent.id == m.User.agent_id)
                    .join(m.Tenant, m.Tenant.id == m.Agent.tenant_id)
                    .where(m.Tenant.name == tenant, m.Agent.name == agent)
                    .order_by(m.User.id)
                )
            ).first()
            if row is None:
                return None
            user, tenant_name = row
            scope = await supervised_agents(session, user.id, user.role)
        return Principal(user.id, user.username, user.role, user.tenant_id, tenant_name, agent, scope=scope)

    async def requester_by_user(self, user_id: int) -> Principal | None:
        async with self.store.session() as session:
            row = (
                await session.execute(
                    select(m.User, m.Tenant.name, m.Agent.name)
                    .outerjoin(m.Tenant, m.Tenant.id == m.User.tenant_id)
                    .outerjoin(m.Agent, m.Agent.id == m.User.agent_id)
                    .where(m.User.id == user_id)
                )
            ).first()
            if row is None:
                return None
            user, tenant, agent = row
            scope = await supervised_agents(session, user.id, user.role)
        return Principal(user.id, user.username, user.role, user.tenant_id, tenant, agent, scope=scope)

    async def phone_of(self, user_id: int) -> str | None:
        """The PJSIP endpoint of the agent linked to a user (the phone a web request rings)."""
        async with self.store.session() as session:
            row = (
                await session.execute(
                    select(m.Tenant.name, m.Agent.name)
                    .select_from(m.User)
                    .join(m.Agent, m.Agent.id == m.User.agent_id)
                    .join(m.Tenant, m.Tenant.id == m.Agent.tenant_id)
                    .where(m.User.id == user_id)
                )
            ).first()
        return None if row is None else f"{row[0]}-{row[1]}"

    async def target(self, tenant: str, *, extension: str | None = None, name: str | None = None) -> Target | None:
        """The agent of ``tenant`` with this extension (phone) or name (web)."""
        query = select(m.Agent, m.Tenant.id).join(m.Tenant, m.Tenant.id == m.Agent.tenant_id)
        query = query.where(m.Tenant.name == tenant)
        query = query.where(m.Agent.extension == extension) if extension is not None else query
        query = query.where(m.Agent.name == name) if name is not None else query
        async with self.store.session() as session:
            row = (await session.execute(query)).first()
        if row is None:
            return None
        agent, tenant_id = row
        return Target(tenant_id, tenant, agent.name, agent.extension)

    async def tenant_id(self, tenant: str) -> int | None:
        async with self.store.session() as session:
            found: int | None = await session.scalar(select(m.Tenant.id).where(m.Tenant.name == tenant))
        return found

    async def open(self, request: Request, session: ListenSession, target: Target | None) -> int:
        """A new row for a request (its phase, and its refusal when already decided)."""
        tenant_id = target.tenant_id if target is not None else await self.tenant_id(request.tenant)
        row = m.ListenSession(
            tenant_id=tenant_id,
            tenant=target.tenant if target is not None else request.tenant,
            origin=request.origin.value,
            supervisor=request.supervisor,
            supervisor_user_id=request.supervisor_user_id,
            supervisor_phone=request.supervisor_phone,
            agent=target.name if target is not None else request.agent,
            agent_extension=target.extension if target is not None else request.extension,
            mode=request.mode.value,
            requested_at=session.requested_at,
            **state_of(session),
        )
        async with self.store.session() as db:
            db.add(row)
            await db.flush()
            await _audit(db, row, None, state_of(session))
            await db.commit()
            return row.id

    async def save(self, row_id: int, session: ListenSession, **extra: Any) -> None:
        async with self.store.session() as db:
            row = await db.get(m.ListenSession, row_id)
            if row is None:
                return
            before, state = _stored(row), state_of(session)
            await db.execute(update(m.ListenSession).where(m.ListenSession.id == row_id).values(**state, **extra))
            await _audit(db, row, before, state)
            await db.commit()

    async def end_orphan(self, row_id: int, now: datetime) -> None:
        """A session a previous run of the voice service left active: ended now, as ``failed``."""
        async with self.store.session() as db:
            row = await db.get(m.ListenSession, row_id)
            if row is None or row.phase != Phase.ACTIVE.value:
                return
            before = _stored(row)
            row.phase, row.ended_at, row.end_reason = Phase.ENDED.value, now, EndReason.FAILED.value
            row.duration_s = (now - row.started_at).total_seconds() if row.started_at else None
            state = {"phase": row.phase, "modes": row.modes, "started_at": row.started_at}
            await _audit(db, row, before, state | {"end_reason": row.end_reason, "duration_s": row.duration_s})
            await db.commit()

    async def claim_web_requests(self) -> list[WebRequest]:
        """Web requests not yet rung, now marked ``ringing`` (by one voice service: the update decides)."""
        if not await peek.exists(self.store, _WEB_REQUESTED):
            return []
        async with self.store.session() as db:
            rows = (
                await db.execute(
                    select(m.ListenSession).where(
                        m.ListenSession.phase == Phase.REQUESTED.value, m.ListenSession.origin == Origin.WEB.value
                    )
                )
            ).scalars().all()  # fmt: skip
            claimed: list[WebRequest] = []
            for row in rows:
                taken = await db.execute(
                    update(m.ListenSession)
                    .where(m.ListenSession.id == row.id, m.ListenSession.phase == Phase.REQUESTED.value)
                    .values(phase=Phase.RINGING.value)
                )
                if getattr(taken, "rowcount", 0) == 1:
                    claimed.append(WebRequest(row.id, row.supervisor_phone, row.tenant, row.agent, Mode(row.mode)))
            await db.commit()
        return claimed

    async def web_request(self, row_id: int) -> tuple[Request, datetime] | None:
        """A web request's row as a Request (when the rung supervisor answers)."""
        async with self.store.session() as db:
            row = await db.get(m.ListenSession, row_id)
        if row is None:
            return None
        request = Request(
            Origin.WEB, row.tenant, row.supervisor, row.supervisor_user_id, row.supervisor_phone, row.agent,
            row.agent_extension, Mode(row.mode),
        )  # fmt: skip
        return request, row.requested_at


async def list_sessions(store: Store, tenant: str, since: datetime | None = None) -> list[dict[str, Any]]:
    """A tenant's listen sessions (refused ones too), newest first, as JSON-ready rows."""
    async with store.session() as db:
        await find_tenant(db, tenant)  # an unknown tenant is an error, not an empty list
        query = select(m.ListenSession).where(m.ListenSession.tenant == tenant)
        if since is not None:
            query = query.where(m.ListenSession.requested_at >= since)
        found = (await db.execute(query.order_by(m.ListenSession.id.desc()))).scalars().all()
    return [
        {
            "id": row.id,
            "requested_at": row.requested_at.isoformat(),
            "origin": row.origin,
            "supervisor": row.supervisor,
            "agent": row.agent,
            "extension": row.agent_extension,
            "phase": row.phase,
            "mode": row.mode,
            "modes": row.modes,
            "started_at": row.started_at.isoformat() if row.started_at else None,
            "ended_at": row.ended_at.isoformat() if row.ended_at else None,
            "duration_s": row.duration_s,
            "refused": row.refused,
            "end_reason": row.end_reason,
        }
        for row in found
    ]


def _stored(row: m.ListenSession) -> Stored:
    return Stored(row.phase, list(row.modes or []), row.started_at is not None)


async def _audit(db: AsyncSession, row: m.ListenSession, before: Stored | None, state: dict[str, Any]) -> None:
    """The audit rows of this change of ``row`` (see ``supervision.trail``), in ``db``'s transaction."""
    for step in steps(before, state, row.mode):
        await audit.record(
            db,
            actor=actor(row.origin, row.supervisor),
            action=step.action,
            tenant=row.tenant,
            subject=f"listen session {row.id}: agent {row.agent}",
            detail={"session": row.id, "origin": row.origin, **step.detail},
        )


def state_of(session: ListenSession) -> dict[str, Any]:
    """The state columns of a session's row, as stored (and as ``supervision.trail`` reads them)."""
    return {
        "phase": session.phase.value,
        "modes": [change.as_json() for change in session.changes],
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "duration_s": session.duration_s,
        "refused": session.refused.value if session.refused is not None else None,
        "end_reason": session.end_reason.value if session.end_reason is not None else None,
    }
