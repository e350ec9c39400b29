"""What the chat and SMS store tests share: a tenant imported from a document, and a routing ACD taking the
requests those tests write."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from tvoxcc.acd import AcdService, InStore, StoreConfig
from tvoxcc.admin.edit import import_document
from tvoxcc.admin.spec import TenantDoc
from tvoxcc.chat import routing_store as routing
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


async def imported_tenant(store: Store, doc: dict[str, Any]) -> int:
    await import_document(store, TenantDoc.model_validate(doc))
    async with store.session() as session:
        return int((await session.execute(select(m.Tenant.id))).scalar_one())


@asynccontextmanager
async def routing_acd(store: Store) -> AsyncIterator[AcdService]:
    """An ACD routing from the store's requests (as `acd run` does), polling every 10 ms."""
    service = AcdService(store, StoreConfig(store), transports=[InStore()], rng=random.Random(1))
    assert await service.start(wait=False)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop, poll_s=0.01))
    try:
        yield service
    finally:
        stop.set()
        await task


async def settled(store: Store, acd: AcdService, tenant: int, now: datetime) -> None:
    """Every request taken by the ACD, its decisions committed, and applied to the chats."""
    while True:
        async with store.session() as session:
            if not await session.scalar(select(func.count()).where(m.AcdInput.taken_at.is_(None))):
                break
        await asyncio.sleep(0.01)
    await acd.flush()
    await routing.resync(store, tenant, now)
