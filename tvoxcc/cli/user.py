"""`tvoxcc user`: who may log in, with a role. Admins may belong to no tenant (they see every tenant)."""

from __future__ import annotations

import sys
from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy import delete, select

from tvoxcc import audit
from tvoxcc.admin.edit import validation_problems
from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.passwords import hash_password
from tvoxcc.admin.repository import find_tenant
from tvoxcc.admin.spec import ROLES, UserSpec
from tvoxcc.cli._common import emit_json, emit_table, emit_yaml, json_option, with_store
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

COLUMNS = ["username", "tenant", "role", "email", "agent", "groups"]
groups_opt = click.option("--groups", help="Supervisor: see only these groups' agents (g1,g2; '' for all).")
tenant_opt = click.option("--tenant", "-t", envvar="TVOXCC_TENANT", help="Tenant (none: a global admin).")


def _read_password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise AdminError("password: at least 8 characters")
    return password


async def _load(session: Any, username: str) -> m.User:
    user = (await session.execute(select(m.User).where(m.User.username == username))).scalar_one_or_none()
    if user is None:
        raise AdminError(f"unknown user {username!r}")
    assert isinstance(user, m.User)
    return user


async def _apply(session: Any, user: m.User, tenant: str | None, spec: UserSpec) -> None:
    tenant_id = (await find_tenant(session, tenant)).id if tenant else None
    if tenant_id is None and spec.role != "admin":
        raise AdminError(f"a {spec.role} must belong to a tenant: give --tenant")
    agent_id = None
    if spec.agent:
        if tenant_id is None:
            raise AdminError("--agent needs --tenant")
        agent_id = (
            await session.execute(select(m.Agent.id).where(m.Agent.tenant_id == tenant_id, m.Agent.name == spec.agent))
        ).scalar_one_or_none()
        if agent_id is None:
            raise AdminError(f"unknown agent {spec.agent!r} in tenant {tenant!r}")
    user.tenant_id, user.role, user.email, user.agent_id = tenant_id, spec.role, spec.email, agent_id


def _group_names(text: str | None) -> list[str] | None:
    """``--groups g1,g2`` as a list; ``--groups ''`` clears them (None: the option was not given)."""
    return None if text is None else [g.strip() for g in text.split(",") if g.strip()]


async def _set_groups(session: Any, user: m.User, tenant: str | None, names: list[str]) -> None:
    """Scope a supervisor to ``names`` (the agents of those groups only); no names: the whole tenant."""
    if names and user.role != "supervisor":
        raise AdminError(f"--groups: only a supervisor is scoped to groups ({user.username!r} is {user.role})")
    if names and tenant is None:
        raise AdminError("--groups needs --tenant")
    ids: dict[str, int] = {}
    if names:
        found = await session.execute(
            select(m.AgentGroup.name, m.AgentGroup.id).where(
                m.AgentGroup.tenant_id == user.tenant_id, m.AgentGroup.name.in_(names)
            )
        )
        ids = dict(found.all())
        missing = [n for n in names if n not in ids]
        if missing:
            raise AdminError(f"--groups: unknown group {missing[0]!r} in tenant {tenant!r}")
    await session.flush()
    await session.execute(delete(m.UserGroup).where(m.UserGroup.user_id == user.id))
    session.add_all(
        m.UserGroup(tenant_id=user.tenant_id, user_id=user.id, group_id=ids[n]) for n in dict.fromkeys(names)
    )


def _spec(data: dict[str, Any]) -> UserSpec:
    try:
        return UserSpec.model_validate(data)
    except ValidationError as exc:
        raise AdminError(*validation_problems(exc, prefix="user")) from exc


@click.group()
def user() -> None:
    """Manage users (admin, supervisor, agent, support)."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@tenant_opt
@click.option("--email")
@click.option("--agent", help="The agent this user works as.")
@groups_opt
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
def add(ctx: click.Context, username: str, role: str, tenant: str | None, email: str | None,
        agent: str | None, groups: str | None, password_stdin: bool) -> None:  # fmt: skip
    """Add a user."""
    spec = _spec({"username": username, "role": role, "email": email, "agent": agent})
    password = _read_password(password_stdin)

    async def go(store: Store) -> None:
        async with store.session() as session:
            taken = (await session.execute(select(m.User.id).where(m.User.username == username))).first()
            if taken:
                raise AdminError(f"user {username!r} already exists")
            row = m.User(username=username, password_hash=hash_password(password) if password else "")
            await _apply(session, row, tenant, spec)
            session.add(row)
            await _set_groups(session, row, tenant, _group_names(groups) or [])
            await _audit(session, tenant, f"users +{username}", {"users": {"added": [username]}})
            await session.commit()

    with_store(ctx, go)
    click.echo(f"added user {username!r}")


@user.command("set")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES))
@click.option("--email")
@click.option("--agent")
@groups_opt
@click.option("--password-stdin", is_flag=True, help="Read a new password from the first line of stdin.")
@click.pass_context
def set_(ctx: click.Context, username: str, role: str | None, email: str | None, agent: str | None,
         groups: str | None, password_stdin: bool) -> None:  # fmt: skip
    """Change a user; options not given keep their value."""
    password = _read_password(password_stdin)

    async def go(store: Store) -> None:
        async with store.session() as session:
            row = await _load(session, username)
            tenant = (await session.get(m.Tenant, row.tenant_id)).name if row.tenant_id else None  # type: ignore[union-attr]
            current_agent = (await session.get(m.Agent, row.agent_id)).name if row.agent_id else None  # type: ignore[union-attr]
            spec = _spec(
                {"username": username, "role": role or row.role, "email": email or row.email,
                 "agent": agent or current_agent}
            )  # fmt: skip
            await _apply(session, row, tenant, spec)
            names = _group_names(groups)
            if names is None and row.role != "supervisor":
                names = []  # only a supervisor is scoped: a user who stops being one loses the scope
            if names is not None:
                await _set_groups(session, row, tenant, names)
            if password:
                row.password_hash = hash_password(password)
            given = (
                ("role", role),
                ("email", email),
                ("agent", agent),
                ("groups", groups is not None),
                ("password", password),
            )
            fields = [k for k, v in given if v]
            await _audit(session, tenant, f"users ~{username}", {"users": {"changed": [username]}, "fields": fields})
            await session.commit()

    with_store(ctx, go)
    click.echo(f"updated user {username!r}")


async def _audit(session: Any, tenant: str | None, subject: str, detail: dict[str, Any]) -> None:
    await audit.record(
        session, actor=audit.cli_actor(), action=audit.AuditAction.ADMIN_CHANGE, tenant=tenant, subject=subject,
        detail=detail,
    )  # fmt: skip


async def _rows(store: Store, tenant: str | None, username: str | None = None) -> list[dict[str, Any]]:
    async with store.session() as session:
        stmt = (
            select(m.User, m.Tenant.name, m.Agent.name)
            .outerjoin(m.Tenant, m.Tenant.id == m.User.tenant_id)
            .outerjoin(m.Agent, m.Agent.id == m.User.agent_id)
            .order_by(m.User.username)
        )
        if tenant:
            stmt = stmt.where(m.User.tenant_id == (await find_tenant(session, tenant)).id)
        if username:
            stmt = stmt.where(m.User.username == username)
        rows = (await session.execute(stmt)).all()
        scopes = await session.execute(
            select(m.UserGroup.user_id, m.AgentGroup.name)
            .join(m.AgentGroup, m.AgentGroup.id == m.UserGroup.group_id)
            .where(m.UserGroup.user_id.in_([u.id for u, _t, _a in rows]))
            .order_by(m.AgentGroup.name)
        )
        groups: dict[int, list[str]] = {}
        for user_id, group in scopes.all():
            groups.setdefault(user_id, []).append(group)
        return [
            {"username": u.username, "tenant": t, "role": u.role, "email": u.email, "agent": a,
             "groups": groups.get(u.id, []), "has_password": bool(u.password_hash)}
            for u, t, a in rows
        ]  # fmt: skip


@user.command("list")
@tenant_opt
@json_option
@click.pass_context
def list_(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """List users (of one tenant with --tenant)."""
    rows = with_store(ctx, lambda store: _rows(store, tenant))
    emit_json(rows) if as_json else emit_table(rows, COLUMNS)


@user.command("show")
@click.argument("username")
@json_option
@click.pass_context
def show(ctx: click.Context, username: str, as_json: bool) -> None:
    """Show one user."""
    rows = with_store(ctx, lambda store: _rows(store, None, username))
    if not rows:
        click.echo(f"error: unknown user {username!r}", err=True)
        sys.exit(1)
    emit_json(rows[0]) if as_json else emit_yaml(rows[0])


@user.command("remove")
@click.argument("username")
@click.pass_context
def remove(ctx: click.Context, username: str) -> None:
    """Remove a user."""

    async def go(store: Store) -> None:
        async with store.session() as session:
            row = await _load(session, username)
            tenant = (await session.get(m.Tenant, row.tenant_id)).name if row.tenant_id else None  # type: ignore[union-attr]
            await session.delete(row)
            await _audit(session, tenant, f"users -{username}", {"users": {"removed": [username]}})
            await session.commit()

    with_store(ctx, go)
    click.echo(f"removed user {username!r}")
