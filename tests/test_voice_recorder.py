"""The voice service's group commit (Recorder), its lanes and its overload meter.

The recorder is checked on SQLite and PostgreSQL: what calls queue ends up stored, in order, in few
transactions; a failing op loses nothing else; a close is applied once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.test_acd_service import tenant as new_tenant
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store
from tvoxcc.voice.lanes import Lanes, current_lane
from tvoxcc.voice.overload import LagMeter
from tvoxcc.voice.recorder import InteractionRef, Recorder

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _rows(store: Store) -> tuple[list[m.Interaction], list[tuple[int | None, str]]]:
    async with store.session() as session:
        interactions = (await session.execute(select(m.Interaction).order_by(m.Interaction.id))).scalars().all()
        events = (
            await session.execute(
                select(m.InteractionEvent.interaction_id, m.InteractionEvent.kind).order_by(m.InteractionEvent.id)
            )
        ).all()
    return list(interactions), [(i, k) for i, k in events]


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
async def test_many_calls_are_written_in_order_in_few_transactions(store: Store) -> None:
    tenant = await new_tenant(store)
    recorder = Recorder(store)
    refs: list[InteractionRef] = []
    for n in range(300):  # three hundred calls at once, each with its own steps
        ref = recorder.open(tenant, channel="voice", external_id=f"c{n}", offered_at=NOW)
        recorder.event(tenant, ref, "offered", NOW)
        recorder.event(tenant, ref, "queued", NOW, {"queue": "q1"})
        recorder.update(ref, outcome="queued")
        refs.append(ref)
    for n, ref in enumerate(refs):
        recorder.close(ref, NOW + timedelta(seconds=n), "answered" if n % 2 else "abandoned")
        recorder.close(ref, NOW, "twice")  # a second close changes nothing
    await recorder.flush()
    interactions, events = await _rows(store)
    assert [i.external_id for i in interactions] == [f"c{n}" for n in range(300)]
    assert [i.outcome for i in interactions] == ["answered" if n % 2 else "abandoned" for n in range(300)]
    assert all(i.ended_at is not None for i in interactions)
    ids = [ref.id for ref in refs]
    assert ids == [i.id for i in interactions]
    expected = [(i, k) for i in ids for k in ("offered", "queued")] + [(i, "ended") for i in ids]
    assert events == expected  # each call's events in the order queued, none twice
    assert recorder.written == 300 * 5 and recorder.batches < 20  # grouped, not one commit per event
    await recorder.close_writer()


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_failing_op_loses_nothing_else_and_a_stored_interaction_closes_once(store: Store) -> None:
    tenant = await new_tenant(store)
    recorder = Recorder(store)
    first = recorder.open(tenant, channel="voice", external_id="a", offered_at=NOW)
    await recorder.flush()
    assert first.id is not None
    second = recorder.open(tenant, channel="voice", external_id="b", offered_at=NOW)
    recorder.event(tenant, second, "offered", NOW)
    recorder.event(tenant, None, "bad", NOW, agent_id=999_999)  # no such agent: the foreign key refuses it
    recorder.event(tenant, second, "queued", NOW)
    stored = InteractionRef.stored(tenant, first.id)  # e.g. after a restart: known by id only
    recorder.close(stored, NOW, "answered")
    recorder.close(InteractionRef.stored(tenant, first.id), NOW, "again")  # another writer closed it: no-op
    await recorder.flush()
    interactions, events = await _rows(store)
    assert [(i.external_id, i.outcome) for i in interactions] == [("a", "answered"), ("b", None)]
    assert events == [(second.id, "offered"), (second.id, "queued"), (first.id, "ended")]
    await recorder.close_writer()


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
async def test_changes_in_one_batch_apply_in_the_order_queued(store: Store) -> None:
    tenant = await new_tenant(store)
    recorder = Recorder(store)
    kept, closed_elsewhere = (recorder.open(tenant, channel="voice", external_id=x, offered_at=NOW) for x in "ab")
    await recorder.flush()
    async with store.session() as session:  # another writer ends "b" first
        row = await session.get(m.Interaction, closed_elsewhere.id)
        assert row is not None
        row.ended_at, row.outcome = NOW, "elsewhere"
        await session.commit()
    # One batch: stored "a" is changed, ended, changed again; stored "b" is ended (no-op); new "c" likewise.
    recorder.update(kept, outcome="queued", recording="r1")
    recorder.close(kept, NOW + timedelta(seconds=5), "answered")
    recorder.update(kept, recording="r2")
    recorder.close(InteractionRef.stored(tenant, closed_elsewhere.id or 0), NOW, "abandoned")
    fresh = recorder.open(tenant, channel="voice", external_id="c", offered_at=NOW)
    recorder.update(fresh, outcome="queued")
    recorder.close(fresh, NOW, "shed")
    recorder.update(fresh, recording="r3")
    await recorder.flush()
    interactions, events = await _rows(store)
    assert [(i.external_id, i.outcome, i.recording, i.ended_at is not None) for i in interactions] == [
        ("a", "answered", "r2", True),
        ("b", "elsewhere", None, True),
        ("c", "shed", "r3", True),
    ]
    assert events == [(kept.id, "ended"), (fresh.id, "ended")]  # none for "b": it had ended already
    await recorder.close_writer()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_flush_never_waits_for_the_linger(store: Store) -> None:
    tenant = await new_tenant(store)
    recorder = Recorder(store, linger=3600)  # batches gather for an hour unless someone waits for them
    ref = recorder.open(tenant, channel="voice", external_id="a", offered_at=NOW)
    await asyncio.sleep(0)  # the writer took the op and lingers
    await asyncio.wait_for(recorder.flush(), 60)  # a guard, not a speed figure: the linger is an hour
    assert ref.id is not None
    recorder.event(tenant, ref, "queued", NOW)
    await asyncio.wait_for(recorder.flush(), 60)  # again, with the writer lingering on a later batch
    assert [k for _, k in (await _rows(store))[1]] == ["queued"]
    await recorder.close_writer()


async def test_lanes_keep_each_calls_order_and_run_calls_side_by_side() -> None:
    lanes = Lanes()
    seen: list[str] = []
    gate = asyncio.Event()

    async def step(name: str, wait: bool = False) -> None:
        if wait:
            await gate.wait()
        seen.append(f"{name}@{current_lane.get()}")

    lanes.submit("a", step("a1", wait=True))
    lanes.submit("a", step("a2"))
    lanes.submit("b", step("b1"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert seen == ["b1@b"]  # b is not held up by a's first step
    assert len(lanes) == 1 and lanes.backlog() == 1  # lane b ended; a2 waits behind a1
    gate.set()

    async def answer() -> int:
        return 42

    assert await lanes.run("a", answer()) == 42  # after a1 and a2
    assert seen == ["b1@b", "a1@a", "a2@a"]

    async def boom() -> None:
        raise ValueError("bad call")

    with pytest.raises(ValueError, match="bad call"):
        await lanes.run("c", boom())
    lanes.submit("c", boom())  # a failure is logged and the lane goes on
    assert await lanes.run("c", answer()) == 42
    await asyncio.sleep(0)
    assert len(lanes) == 0
    await lanes.close()


def test_the_lag_meter_smooths_lateness_and_counts_backlog() -> None:
    pending = [0]
    meter = LagMeter(max_lag=0.25, max_backlog=10, smoothing=0.5, backlog=lambda: pending[0])
    meter.sample(1.0, 1.01)
    assert not meter.overloaded
    for t in range(5):
        meter.sample(float(t), t + 0.6)  # the loop wakes 600 ms late again and again
    assert meter.overloaded and 0.5 < meter.lag < 0.6
    for t in range(10):
        meter.sample(float(t), float(t))
    assert not meter.overloaded
    pending[0] = 11
    assert meter.overloaded
