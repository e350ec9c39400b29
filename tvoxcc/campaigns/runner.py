"""A running campaign on the store: its dialer built from the rows, and what the dialer did written back.

The telephony side (tvoxcc.voice) feeds events in and carries the commands out; this adapter keeps the rows
true after every batch: record states, one attempt row per dialled line, the abandon ledger's entries (the
abandoned number with them, so its 72 h hold survives a restart). A restart reads back the open records, the
do-not-call list, the ledger over the rule's window and the holds; a record caught dialling by the restart
goes back to pending (its attempt counted), one caught talking is done, or called again when a disposition the
agent gave during the talk says so.
A talk's end is written on its attempt before any record, and a disposition the agent gave before it applies
then (tvoxcc.campaigns.talks: whichever of the two comes second applies the rule).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.repository import find_tenant
from tvoxcc.campaigns import records as rec
from tvoxcc.campaigns import talks
from tvoxcc.campaigns.calls import CampaignCalls
from tvoxcc.campaigns.dialer import Dialer
from tvoxcc.campaigns.events import Abandon, CallEnded, Command, Connect, Dial, Event, LineResult
from tvoxcc.campaigns.ledger import AbandonLedger, LedgerEntry
from tvoxcc.campaigns.model import (
    ABANDON_HOLD_S,
    FINAL_STATES,
    RULE_WINDOW_S,
    AbandonRule,
    CampaignStatus,
    DialMode,
    LineOutcome,
    RecordState,
    RetryRules,
)
from tvoxcc.campaigns.spec import CampaignSettings
from tvoxcc.campaigns.windows import zones_of
from tvoxcc.interactions import Outcome
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class CampaignRunner:
    store: Store
    tenant_id: int
    campaign_id: int
    dialer: Dialer
    calls: CampaignCalls
    attempts: dict[int, int] = field(default_factory=dict)  # line -> campaign_attempts.id
    # The ACD item a line's call is (the desk says): its interaction's external id, found by the desktop.
    item_for: Callable[[int, str], str | None] = lambda line, agent: None

    @classmethod
    async def load(cls, store: Store, tenant: str, name: str, now: float) -> CampaignRunner:
        async with store.session() as session:
            tenant_row = await find_tenant(session, tenant)
        async with store.tenant(tenant_row.id) as session:
            campaign = (await session.execute(select(m.Campaign).where(m.Campaign.name == name))).scalar_one_or_none()
            if campaign is None:
                raise AdminError(f"no campaign {name!r} in tenant {tenant!r}")
            settings = CampaignSettings.from_json(campaign.settings)
            rule = AbandonRule(campaign.rule)
            pacing = settings.pacing(DialMode(campaign.mode), rule)
            book = rec.RecordBook(await _open_records(session, campaign.id, tenant_row.timezone, now, settings.retry))
            ledger = AbandonLedger(rule, pacing.amd_false_positive_rate)
            since = _at(now - max(RULE_WINDOW_S[rule], ABANDON_HOLD_S))
            entries = await session.execute(
                select(m.AbandonLedgerRow.at, m.AbandonLedgerRow.entry, m.AbandonLedgerRow.number)
                .where(m.AbandonLedgerRow.campaign_id == campaign.id, m.AbandonLedgerRow.at > since)
                .order_by(m.AbandonLedgerRow.at, m.AbandonLedgerRow.id)
            )
            holds: dict[str, float] = {}
            for at, entry, number in entries.all():
                if at.timestamp() > now - RULE_WINDOW_S[rule]:
                    ledger.load(at.timestamp(), LedgerEntry(entry))
                if entry in (LedgerEntry.ABANDONED, LedgerEntry.DROPPED) and number:
                    holds[number] = max(holds.get(number, 0.0), at.timestamp() + ABANDON_HOLD_S)
            dnc = (await session.execute(select(m.DncNumber.number))).scalars().all()
            await session.commit()
        dialer = Dialer(pacing, settings.retry, settings.window, book, ledger, do_not_call=dnc, holds=holds)
        dialer.running = campaign.status == CampaignStatus.RUNNING
        calls = CampaignCalls(campaign.id, tenant_row.name, tenant_row.country or "", campaign.caller_id)
        return cls(store, tenant_row.id, campaign.id, dialer, calls)

    async def handle(self, event: Event, now: float) -> list[Command]:
        commands = self.dialer.handle(event, now)
        await self._save([event], commands, now)
        return commands

    async def tick(self, now: float) -> list[Command]:
        commands = self.dialer.tick(now)
        await self._save([], commands, now)
        return commands

    async def refresh(self) -> None:
        """Take the operator's changes: the campaign's status and the do-not-call list."""
        async with self.store.tenant(self.tenant_id) as session:
            status = await session.scalar(select(m.Campaign.status).where(m.Campaign.id == self.campaign_id))
            self.dialer.running = status == CampaignStatus.RUNNING
            self.dialer.do_not_call = set((await session.execute(select(m.DncNumber.number))).scalars())
            await self._pick_up_disposed(session)

    async def _pick_up_disposed(self, session: AsyncSession) -> None:
        """Records a disposition given at wrap-up sent back to pending (tvoxcc.dispositions.store): the book
        holds them as done since their talk ended; they are due again when the retry rule says."""
        codes = list(self.dialer.retry.dispositions)
        if not codes:
            return
        rows = await session.execute(
            select(m.CampaignRecord.id, m.CampaignRecord.next_at, m.CampaignRecord.last_outcome).where(
                m.CampaignRecord.campaign_id == self.campaign_id,
                m.CampaignRecord.state == RecordState.PENDING.value,
                m.CampaignRecord.last_outcome.in_(codes),
            )
        )
        for record_id, next_at, outcome in rows.all():
            record = self.dialer.book.records.get(record_id)
            if record is None or not record.final:
                continue
            record.state, record.last_outcome = RecordState.PENDING, outcome
            record.next_at = next_at.timestamp() if next_at else 0.0
            self.dialer.book.requeue(record)

    async def _save(self, events: list[Event], commands: list[Command], now: float) -> None:
        records = self.dialer.take_changed()
        entries = self.dialer.ledger.take_fresh()
        if not (records or entries or commands or events):
            return
        async with self.store.tenant(self.tenant_id) as session:
            # First: the talks' ends (the attempt rows locked before any record: tvoxcc.campaigns.talks).
            for event in events:
                if isinstance(event, CallEnded):
                    await self._talk_over(session, event, now)
            for r in records:
                await session.execute(
                    update(m.CampaignRecord)
                    .where(m.CampaignRecord.id == r.id)
                    .values(
                        state=r.state.value, attempts=r.attempts, next_at=_at(r.next_at), last_outcome=r.last_outcome
                    )
                    .execution_options(synchronize_session=False)
                )
            session.add_all(
                m.AbandonLedgerRow(campaign_id=self.campaign_id, at=_at(at), entry=entry.value, number=number)
                for at, entry, number in entries
            )
            for event in events:
                await self._attempt_event(session, event, now)
            for command in commands:
                await self._attempt_command(session, command, now)
            await session.commit()

    async def _attempt_command(self, session: AsyncSession, command: Command, now: float) -> None:
        if isinstance(command, Dial):
            row = m.CampaignAttempt(
                campaign_id=self.campaign_id,
                record_id=command.record_id,
                number=command.number,
                agent=command.agent,
                started_at=_at(now),
            )
            session.add(row)
            await session.flush()
            self.attempts[command.line] = row.id
        elif isinstance(command, Connect):
            await self._attempt(session, command.line, agent=command.agent)
            if (attempt := self.attempts.get(command.line)) is not None:
                external = self.item_for(command.line, command.agent)
                await self.calls.connected(session, attempt, command.agent, external, _at(now))
        elif isinstance(command, Abandon):
            await self._attempt(session, command.line, outcome=LineOutcome.ABANDONED.value, ended_at=_at(now))
            await self._call_ended(session, command.line, Outcome.ABANDONED, now)

    async def _attempt_event(self, session: AsyncSession, event: Event, now: float) -> None:
        if isinstance(event, LineResult):
            if event.outcome is LineOutcome.HUMAN:
                await self._attempt(session, event.line, outcome=event.outcome.value, answered_at=_at(now))
            else:
                values = {"outcome": event.outcome.value, "ended_at": _at(now)}
                if event.outcome is LineOutcome.MACHINE:
                    values["answered_at"] = _at(now)
                await self._attempt(session, event.line, **values)
                machine = event.outcome is LineOutcome.MACHINE
                await self._call_ended(session, event.line, Outcome.MACHINE if machine else None, now)
        elif isinstance(event, CallEnded):  # its attempt's end written first (_talk_over)
            await self._call_ended(session, event.line, Outcome.ANSWERED, now)

    async def _talk_over(self, session: AsyncSession, event: CallEnded, now: float) -> None:
        """The talk's end on its attempt; a disposition the agent gave before it drives the record now (given
        after it, tvoxcc.dispositions does)."""
        attempt = self.attempts.get(event.line)
        if attempt is None:
            return
        over = await talks.talk_over(session, attempt, _at(now), event.disposition)
        record = self.dialer.book.records.get(over.record_id)
        if over.disposition is not None and record is not None:
            with contextlib.suppress(rec.TransitionError):  # the talk's own disposition moved it already
                rec.disposed(record, over.disposition, now, self.dialer.retry)
                self.dialer.book.requeue(record)

    async def _call_ended(self, session: AsyncSession, line: int, outcome: Outcome | None, now: float) -> None:
        """The line is over: its attempt is done with, and its interaction (if it is one) ends ``outcome``."""
        attempt = self.attempts.pop(line, None)
        if attempt is not None and outcome is not None:
            await self.calls.ended(session, attempt, outcome, _at(now))

    async def _attempt(self, session: AsyncSession, line: int, **values: object) -> None:
        attempt = self.attempts.get(line)
        if attempt is not None:
            await session.execute(
                update(m.CampaignAttempt)
                .where(m.CampaignAttempt.id == attempt)
                .values(**values)
                .execution_options(synchronize_session=False)
            )


async def _open_records(
    session: AsyncSession, campaign_id: int, tenant_zone: str, now: float, retry: RetryRules
) -> list[rec.Record]:
    rows = (
        await session.execute(
            select(m.CampaignRecord)
            .where(m.CampaignRecord.campaign_id == campaign_id)
            .where(m.CampaignRecord.state.not_in([s.value for s in FINAL_STATES]))
            .order_by(m.CampaignRecord.id)
        )
    ).scalars()
    records = []
    for row in rows:
        if row.state in (RecordState.DIALING, RecordState.PREVIEWING):  # gone with the process (or the page)
            row.state = RecordState.PENDING.value
        elif row.state == RecordState.CONNECTED:  # talked, its end never written: as if it ended now
            given = await session.scalar(
                select(m.CampaignAttempt.disposition)
                .where(m.CampaignAttempt.record_id == row.id)
                .order_by(m.CampaignAttempt.id.desc())
                .limit(1)
            )
            talked = rec.Record(row.id, row.number, (), RecordState.CONNECTED, row.attempts, 0.0, row.last_outcome)
            rec.talk_ended(talked, given, now, retry)  # a disposition given during the talk still applies
            row.state, row.last_outcome = talked.state.value, talked.last_outcome
            if talked.state is not RecordState.PENDING:
                continue
            row.next_at = _at(talked.next_at)
        next_at = row.next_at.timestamp() if row.next_at else now
        records.append(
            rec.Record(
                row.id,
                row.number,
                zones_of(row.number, tenant_zone),
                RecordState(row.state),
                row.attempts,
                next_at,
                row.last_outcome,
            )
        )
    return records
