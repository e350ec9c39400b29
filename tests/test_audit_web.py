"""Web logins and failed logins land in the audit log (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.test_web_api import Login, login, world  # noqa: F401  (fixtures)
from tvoxcc import audit
from tvoxcc.store.engine import Store


async def test_logins_and_failed_logins_are_audited(world: Store, login: Login) -> None:  # noqa: F811
    await login("sara")
    client = await login(None)
    response = await client.post("/login", json={"username": "sara", "password": "wrong"})
    assert response.status == 401
    response = await client.post("/login", json={"username": "nobody", "password": "wrong"})
    assert response.status == 401
    async with world.session() as session:
        rows = await audit.entries(session)
        assert (await audit.verify(session))[1] is None
    got = [(r["action"], r["actor"], r["tenant"], r["detail"]["known_user"]) for r in rows]
    assert got == [
        ("web.login", "web:sara", "acme", True),
        ("web.login-failed", "web:sara", "acme", True),
        ("web.login-failed", "web:nobody", None, False),
    ]
    assert all(r["detail"]["remote"] == "127.0.0.1" for r in rows)
    assert "wrong" not in str(rows)
