"""Dovecot for tests: the reusable lab server (tvoxcc.mail.lab_dovecot) behind the missing-component policy."""

from __future__ import annotations

from tests.components import component_missing
from tvoxcc.config import MailAccount
from tvoxcc.mail.lab_dovecot import LabDovecot, find_dovecot, start_dovecot
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

__all__ = ["SUPPORT_ADDRESS", "LabDovecot", "account_for", "dovecot_or_missing", "require_dovecot", "seed_acme"]


def require_dovecot() -> None:
    if find_dovecot() is None:
        component_missing("Dovecot not installed (apt-get install dovecot-imapd)")


def dovecot_or_missing(users: dict[str, str]) -> LabDovecot:
    """A started Dovecot; a start error is raised as is (it fails the test)."""
    require_dovecot()
    return start_dovecot(users)


SUPPORT_ADDRESS = "support@acme.test"


def account_for(server: LabDovecot, user: str = "support") -> MailAccount:
    """The [[mail.accounts]] entry for a user of the test Dovecot, on tenant acme / service support."""
    return server.account(user, tenant="acme", service="support", address=SUPPORT_ADDRESS)


async def seed_acme(store: Store) -> int:
    """Tenant acme with a mail service 'support'; returns the tenant id."""
    async with store.session() as session:
        tenant = m.Tenant(name="acme", display_name="ACME S.p.A.")
        session.add(tenant)
        await session.flush()
        session.add(m.Service(tenant_id=tenant.id, name="support", channels=["mail"]))
        await session.commit()
        return tenant.id
