"""Login sessions and CSRF tokens.

The session cookie holds a random token (HttpOnly, SameSite=Lax, Secure behind HTTPS); the store keeps
only its SHA-256 (tvoxcc.store.models.live.WebSession), so a copy of the database opens no session.
Logging out deletes the row. Forms carry a CSRF token that is the HMAC of a random cookie value under
the configured secret (signed double submit); JSON POSTs need ``Content-Type: application/json``, which
a cross-site form cannot send, and every POST with an ``Origin`` must come from this host.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import delete, select

from tvoxcc import audit
from tvoxcc.admin.hierarchy import supervised_agents, supervised_queues
from tvoxcc.admin.passwords import verify_password
from tvoxcc.audit.actors import web_actor
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.web.access import Principal

SESSION_COOKIE = "tvoxcc_session"
CSRF_COOKIE = "tvoxcc_csrf"
# Compared against when the user is unknown, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def check_password(store: Store, username: str, password: str, *, remote: str | None = None) -> int | None:
    """The user's id when the password is right; None otherwise (unknown user included). Either way the
    attempt is audited (the user's tenant, the client's address; never the password)."""
    async with store.session() as session:
        row = (
            await session.execute(
                select(m.User.id, m.User.password_hash, m.Tenant.name)
                .outerjoin(m.Tenant, m.Tenant.id == m.User.tenant_id)
                .where(m.User.username == username)
            )
        ).first()
    stored = row.password_hash if row is not None and row.password_hash else _DUMMY_HASH
    ok = verify_password(password, stored)
    user_id = row.id if ok and row is not None and row.password_hash else None
    await audit.record_now(
        store,
        actor=web_actor(username[:64]),
        action=audit.AuditAction.LOGIN if user_id is not None else audit.AuditAction.LOGIN_FAILED,
        tenant=row.name if row is not None else None,
        subject=username[:64],
        detail={"remote": remote, "known_user": row is not None},
    )
    return user_id


async def open_session(store: Store, user_id: int, now: datetime, hours: float) -> str:
    token = secrets.token_urlsafe(32)
    async with store.session() as session:
        await session.execute(delete(m.WebSession).where(m.WebSession.expires_at < now))
        session.add(
            m.WebSession(id=_digest(token), user_id=user_id, created_at=now, expires_at=now + timedelta(hours=hours))
        )
        await session.commit()
    return token


async def close_session(store: Store, token: str) -> None:
    async with store.session() as session:
        await session.execute(delete(m.WebSession).where(m.WebSession.id == _digest(token)))
        await session.commit()


async def principal_of(store: Store, token: str | None, now: datetime) -> Principal | None:
    """The user a session token belongs to, with what their role lets them see; None if not logged in."""
    if not token:
        return None
    async with store.session() as session:
        row = (
            await session.execute(
                select(m.User, m.Tenant.name, m.Agent.name)
                .join(m.WebSession, m.WebSession.user_id == m.User.id)
                .outerjoin(m.Tenant, m.Tenant.id == m.User.tenant_id)
                .outerjoin(m.Agent, m.Agent.id == m.User.agent_id)
                .where(m.WebSession.id == _digest(token), m.WebSession.expires_at > now)
            )
        ).first()
        if row is None:
            return None
        user, tenant, agent = row
        queues: frozenset[str] = frozenset()
        if user.agent_id is not None:
            names = await session.execute(
                select(m.Queue.name)
                .join(m.QueueMember, m.QueueMember.queue_id == m.Queue.id)
                .where(m.QueueMember.agent_id == user.agent_id)
            )
            queues = frozenset(names.scalars())
        scope = await supervised_agents(session, user.id, user.role)
        scope_queues = await supervised_queues(session, user.id, user.role)
    return Principal(user.id, user.username, user.role, user.tenant_id, tenant, agent, queues, scope, scope_queues)


def csrf_pair(secret: bytes) -> tuple[str, str]:
    """(cookie value, form token) for a form about to be shown."""
    nonce = secrets.token_urlsafe(16)
    return nonce, hmac.new(secret, nonce.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret: bytes, cookie: str | None, token: str | None) -> bool:
    if not cookie or not token:
        return False
    expected = hmac.new(secret, cookie.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, token)


def same_origin(request: web.Request) -> bool:
    """A POST's Origin (when the browser sends one) must be this server."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return origin == f"{request.scheme}://{request.host}"
