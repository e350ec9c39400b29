"""Tenant isolation enforced in the query layer, not left to callers.

A tenant session carries its tenant id in ``session.info``. Every ORM SELECT, UPDATE and DELETE
it runs gets ``tenant_id = :tid`` added for every tenant-owned entity involved (joins and
relationship loads included, via ``with_loader_criteria``), and every object it flushes is
stamped with that tenant or refused when it names another one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from tvoxcc.store.base import TenantScoped
from tvoxcc.store.models.org import Tenant, User

TENANT_KEY = "tvoxcc_tenant_id"


class TenantViolation(Exception):
    """An object of another tenant was about to be written through a tenant session."""


def scope_to_tenant(session: AsyncSession, tenant_id: int) -> None:
    session.sync_session.info[TENANT_KEY] = tenant_id


def session_tenant(session: Session) -> int | None:
    value = session.info.get(TENANT_KEY)
    return value if isinstance(value, int) else None


@event.listens_for(Session, "do_orm_execute")
def _filter_by_tenant(state: ORMExecuteState) -> None:
    tenant_id = session_tenant(state.session)
    if tenant_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    state.statement = state.statement.options(*_tenant_criteria(tenant_id))


@lru_cache(maxsize=4096)
def _tenant_criteria(tenant_id: int) -> tuple[Any, ...]:
    """The options of one tenant, built once: building them (lambda analysis) cost more than a short query's
    round trip on every statement. They are immutable, so every statement of the tenant can share them."""
    return (
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True),
        with_loader_criteria(User, lambda cls: cls.tenant_id == tenant_id, include_aliases=True),
        with_loader_criteria(Tenant, lambda cls: cls.id == tenant_id, include_aliases=True),
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, _context: Any, _instances: Any) -> None:
    tenant_id = session_tenant(session)
    if tenant_id is None:
        return
    for obj in [*session.new, *session.dirty]:
        if not isinstance(obj, TenantScoped | User):
            continue
        current = obj.tenant_id
        if current is None:
            obj.tenant_id = tenant_id
        elif current != tenant_id:
            name = type(obj).__name__
            raise TenantViolation(f"{name} of tenant {current} cannot be written by tenant {tenant_id}")
