"""A tenant's retention on SQLite and PostgreSQL: `tenant set --retention-days`, purged by `insight run`; the
purged calls' recordings in the repository go too, but one on legal hold; chats closed before the cutoff go with
their messages, a recent or still open one stays; retention changes are audited."""

from __future__ import annotations

import asyncio
import io
import json
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.cli import Tvox
from tvoxcc.config import load_settings
from tvoxcc.recordings.repository import RecordingMeta, Repository
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
        await add_chats(s)
        await s.commit()
    await store.dispose()


async def add_chats(s: AsyncSession) -> None:
    """An SMS chat closed long ago (purged), a webchat closed lately and one opened long ago still going (kept)."""
    service = (await s.execute(select(m.Service.id))).scalar_one()
    chats = {
        "old-closed": ("sms", "+390244444444", "closed", OLD, OLD),
        "recent-closed": ("chat", "", "closed", OLD, RECENT),
        "old-open": ("chat", "", "connected", OLD, None),
    }
    for token, (channel, address, status, created, closed) in chats.items():
        chat = m.Chat(channel=channel, address=address, service_id=service, queue="acme/web", status=status,
                      token_hash=token, created_at=created, closed_at=closed, next_seq=3)  # fmt: skip
        s.add(chat)
        await s.flush()
        for seq in (1, 2):
            s.add(m.ChatMessage(chat_id=chat.id, seq=seq, sender="visitor", body=f"{token} {seq}", at=created))


async def counts(db_url: str) -> dict[str, int]:
    store = Store.from_url(db_url)
    out = {}
    async with store.session() as s:
        for model in (m.Interaction, m.InteractionEvent, m.NpsAnswer, m.Callback, m.Ticket, m.TicketMessage,
                      m.Attachment, m.OutboxMail, m.MailRejection, m.Chat, m.ChatMessage):  # fmt: skip
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
    tvox.ok("service", "add", "-t", "acme", "web", "--channel", "chat")
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
    assert (before["chats"], before["chat_messages"], after["chats"], after["chat_messages"]) == (3, 6, 2, 4)
    assert asyncio.run(chat_tokens(db_url)) == ["old-open", "recent-closed"]
    tvox.ok("tenant", "set", "acme", "--retention-days", "0")  # 0: keep for ever
    assert "retention_days" not in json.loads(tvox.ok("tenant", "show", "acme", "--json"))["tenant"]
    asyncio.run(seed_again(db_url))
    assert "retention:" not in tvox.ok("insight", "run", "--once")


async def chat_tokens(db_url: str) -> list[str]:
    store = Store.from_url(db_url)
    async with store.session() as s:
        tokens = sorted((await s.execute(select(m.Chat.token_hash))).scalars())
    await store.dispose()
    return tokens


async def seed_again(db_url: str) -> None:
    store = Store.from_url(db_url)
    async with store.session() as s:
        tenant_id = (await s.execute(select(m.Tenant.id))).scalar_one()
        s.add(m.Interaction(tenant_id=tenant_id, channel="voice", from_address="+390233333333", offered_at=OLD))
        await s.commit()
    await store.dispose()


def wav(frames: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x02" * frames)
    return buffer.getvalue()


async def calls_with_recordings(tvox: Tvox, db_url: str) -> dict[str, int]:
    """Two old calls and a recent one, each with a recording in the repository."""
    repository = Repository.of(load_settings(tvox.config))
    store = Store.from_url(db_url)
    try:
        async with store.session() as s:
            tenant_id = (await s.execute(select(m.Tenant.id).where(m.Tenant.name == "acme"))).scalar_one()
        async with store.tenant(tenant_id) as s:
            calls = [
                m.Interaction(channel="voice", from_address=f"+39021111111{n}", offered_at=at)
                for n, at in enumerate((OLD, OLD, RECENT))
            ]
            s.add_all(calls)
            await s.commit()
        ids = {}
        for name, call in zip(("held", "gone", "recent"), calls, strict=True):
            meta = RecordingMeta(tenant_id, call.offered_at, interaction_id=call.id, number=call.from_address)
            ids[name] = await repository.store(store, "acme", meta, wav(8000))
            ids[f"{name}_call"] = call.id
        return ids
    finally:
        await store.dispose()


async def recordings(db_url: str) -> dict[int, tuple[int | None, str]]:
    store = Store.from_url(db_url)
    async with store.session() as s:
        rows = (await s.execute(select(m.Recording))).scalars().all()
    await store.dispose()
    return {r.id: (r.interaction_id, r.path) for r in rows}


def test_retention_takes_the_calls_recordings_but_a_held_one_and_is_audited(
    tvox_any: Tvox, db_url: str, tmp_path: Path
) -> None:
    tvox = tvox_any
    tvox.ok("tenant", "add", "acme", "--retention-days", "30")
    tvox.ok("tenant", "set", "acme", "--display-name", "ACME")  # not a retention change
    ids = asyncio.run(calls_with_recordings(tvox, db_url))
    tvox.ok("recording", "hold", "-t", "acme", str(ids["held"]), "--reason", "case 7")
    root = tmp_path / "data" / "recordings"
    paths = {i: root / path for i, (_call, path) in asyncio.run(recordings(db_url)).items()}
    assert all(p.is_file() for p in paths.values())

    result = tvox("insight", "run", "--once")
    assert result.exit_code == 0, result.output
    assert "1 recording_files" in result.output and "1 recordings_held" in result.output
    left = asyncio.run(recordings(db_url))
    assert ids["gone"] not in left and not paths[ids["gone"]].exists()
    # the held recording outlives its call: its row (unlinked: the call is gone) and its file
    assert left[ids["held"]][0] is None and paths[ids["held"]].is_file()
    assert left[ids["recent"]][0] == ids["recent_call"] and paths[ids["recent"]].is_file()
    tvox.ok("recording", "export", "-t", "acme", str(ids["held"]), "--out", str(tmp_path / "held.wav"))
    assert (tmp_path / "held.wav").read_bytes() == wav(8000)

    tvox.ok("tenant", "set", "acme", "--retention-days", "90")
    tvox.ok("tenant", "set", "acme", "--retention-days", "0")
    audited = json.loads(tvox.ok("audit", "list", "--tenant", "acme", "--json"))
    changes = [(r["detail"]["from"], r["detail"]["to"]) for r in audited if r["action"] == "tenant.retention"]
    assert changes == [(None, 30), (30, 90), (90, None)]
    purge = [r for r in audited if r["action"] == "recording.purge"]
    assert [(r["actor"], r["detail"]["ids"], r["detail"]["held"]) for r in purge] == [
        ("system:retention", [ids["gone"]], [ids["held"]])
    ]
    verified = tvox("audit", "verify")
    assert verified.exit_code == 0, verified.output


async def test_deleting_a_call_unlinks_its_recordings_on_both_backends(store: Store) -> None:
    """The schema's own guarantee under the retention's explicit unlinking: recordings.interaction_id is ON
    DELETE SET NULL on SQLite (foreign_keys pragma on) and PostgreSQL alike, so whatever deletes a call
    leaves its recording's row (and so its file) in place, never a row naming a deleted call."""
    async with store.session() as s:
        tenant = m.Tenant(name="acme")
        s.add(tenant)
        await s.flush()
        call = m.Interaction(tenant_id=tenant.id, channel="voice", from_address="+390211111111", offered_at=OLD)
        s.add(call)
        await s.flush()
        recording = m.Recording(
            tenant_id=tenant.id, interaction_id=call.id, started_at=OLD, sha256="0" * 64, path="acme/x.wav",
            legal_hold=True,
        )  # fmt: skip
        s.add(recording)
        await s.commit()
        await s.execute(delete(m.Interaction).where(m.Interaction.id == call.id))
        await s.commit()
        s.expire_all()
        row = (await s.execute(select(m.Recording))).scalar_one()
    assert (row.id, row.interaction_id, row.legal_hold) == (recording.id, None, True)
