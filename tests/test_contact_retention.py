"""A tenant's retention on SQLite and PostgreSQL: `tenant set --retention-days`, purged by `insight run`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from tests.cli import Tvox
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

NOW = datetime.now(UTC)
OLD, RECENT = NOW - timedelta(days=40), NOW - timedelta(days=5)


async def seed(db_url: str) -> None:
    store = Store.from_url(db_url)
    async with store.session() as s:
        tenant_id = (await s.execute(select(m.Tenant.id).where(m.Tenant.name == "acme"))).scalar_one()
    async with store.tenant(tenant_id) as s:
        old_call = m.Interaction(channel="voice", from_address="+390211111111", offered_at=OLD, recording="rec-old")
        new_call = m.Interaction(channel="voice", from_address="+390222222222", offered_at=RECENT)
        solved = m.Ticket(number=1, subject="old and solved", status="solved", updated_at=OLD, created_at=OLD)
        still_open = m.Ticket(number=2, subject="old but open", status="open", updated_at=OLD, created_at=OLD)
        s.add_all([old_call, new_call, solved, still_open])
        await s.flush()
        solved_mail = m.Interaction(channel="mail", from_address="a@x.it", offered_at=OLD, ticket_id=solved.id)
        open_mail = m.Interaction(channel="mail", from_address="b@x.it", offered_at=OLD, ticket_id=still_open.id)
        s.add_all([solved_mail, open_mail])
        await s.flush()
        s.add(m.InteractionEvent(interaction_id=old_call.id, kind="offered", at=OLD))
        s.add(m.NpsAnswer(interaction_id=old_call.id, score=8, answered_at=OLD))
        s.add(m.Callback(number="+390211111111", requested_by_id=old_call.id, requested_at=OLD))
        for ticket, mail in ((solved, solved_mail), (still_open, open_mail)):
            message = m.TicketMessage(ticket_id=ticket.id, interaction_id=mail.id, kind="inbound", created_at=OLD)
            s.add(message)
            await s.flush()
            s.add(m.Attachment(message_id=message.id, filename="a.txt", content_type="text/plain", size=1, data=b"x"))
            ack = f"<ack{ticket.id}@x>"
            s.add(m.OutboxMail(ticket_id=ticket.id, kind="ack", message_id=ack, from_address="s@x", to_address="a@x",
                               subject="ack", body_text="", status="sent", created_at=OLD))  # fmt: skip
        s.add(m.MailRejection(mailbox="box", sender="spam@x.it", reason="bulk", created_at=OLD))
        await s.commit()
    await store.dispose()


async def counts(db_url: str) -> dict[str, int]:
    store = Store.from_url(db_url)
    out = {}
    async with store.session() as s:
        for model in (m.Interaction, m.InteractionEvent, m.NpsAnswer, m.Callback, m.Ticket, m.TicketMessage,
                      m.Attachment, m.OutboxMail, m.MailRejection):  # fmt: skip
            out[model.__tablename__] = (await s.execute(select(func.count()).select_from(model))).scalar_one()
        out["open_ticket_mail"] = (
            await s.execute(
                select(func.count()).select_from(m.Interaction).where(m.Interaction.from_address == "b@x.it")
            )
        ).scalar_one()
    await store.dispose()
    return out


def test_retention_purges_what_is_older_and_keeps_open_threads(tvox_any: Tvox, db_url: str, tmp_path: Path) -> None:
    tvox = tvox_any
    tvox.ok("tenant", "add", "acme")
    tvox.ok("tenant", "set", "acme", "--retention-days", "30")
    assert json.loads(tvox.ok("tenant", "show", "acme", "--json"))["tenant"]["retention_days"] == 30
    assert json.loads(tvox.ok("tenant", "list", "--json"))[0]["retention_days"] == 30
    assert "tenant.retention_days" in tvox.fails("tenant", "set", "acme", "--retention-days", "-1")
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    (recordings / "rec-old.wav").write_bytes(b"RIFF")
    asyncio.run(seed(db_url))
    before = asyncio.run(counts(db_url))
    env = {"TVOXCC_ASTERISK__RECORDINGS_DIR": str(recordings)}
    result = tvox("insight", "run", "--once", env=env)
    assert result.exit_code == 0, result.output
    assert "retention: tenant acme: 1 recording_files, 1 callbacks, 1 attachments, 1 ticket_messages" in result.output
    after = asyncio.run(counts(db_url))
    assert not (recordings / "rec-old.wav").exists()
    assert (before["interactions"], after["interactions"]) == (4, 2)  # the recent call, the open ticket's mail
    assert after["open_ticket_mail"] == 1 and after["tickets"] == 1
    assert (after["interaction_events"], after["nps_answers"], after["callbacks"]) == (0, 0, 0)
    assert (after["ticket_messages"], after["attachments"], after["outbox_mails"]) == (1, 1, 1)
    assert after["mail_rejections"] == 0
    tvox.ok("tenant", "set", "acme", "--retention-days", "0")  # 0: keep for ever
    assert "retention_days" not in json.loads(tvox.ok("tenant", "show", "acme", "--json"))["tenant"]
    asyncio.run(seed_again(db_url))
    assert "retention:" not in tvox.ok("insight", "run", "--once")


async def seed_again(db_url: str) -> None:
    store = Store.from_url(db_url)
    async with store.session() as s:
        tenant_id = (await s.execute(select(m.Tenant.id))).scalar_one()
        s.add(m.Interaction(tenant_id=tenant_id, channel="voice", from_address="+390233333333", offered_at=OLD))
        await s.commit()
    await store.dispose()
