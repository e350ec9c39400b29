"""`contact export` and `contact erase` on SQLite and PostgreSQL: a person with calls, mails (through the real
mail ingest, with an attachment), a ticket answered and solved, a survey answer, a callback, a webchat (by
her name and e-mail), an SMS chat (by her number), a recording file and a queue_log line. The export holds all
of it; after the erase no row of any table, no file of the data dir or the recordings folder (nor the SQLite
file) names them, and Insight's figures are the same.

With recordings in the (encrypted) repository, one on legal hold: the export holds both decrypted, the erase
deletes the other and keeps the held one (file, row and call link, without her number), and both are in
the audit log, which names nobody and still verifies."""

from __future__ import annotations

import asyncio
import io
import json
import wave
import zipfile
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import JSON, String, Text, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.cli import Tvox
from tvoxcc.config import load_settings
from tvoxcc.mail.parse import parse_mail
from tvoxcc.mail.templates import MailTemplates
from tvoxcc.queues.queue_log import enter_queue
from tvoxcc.recordings.crypto import MAGIC, new_key
from tvoxcc.recordings.repository import RecordingMeta, Repository
from tvoxcc.store import models as m
from tvoxcc.store.base import Base
from tvoxcc.store.engine import Store
from tvoxcc.support.desk import reply, set_status
from tvoxcc.support.mail_in import ingest_mail
from tvoxcc.support.tickets import Mailbox

NAME, PHONE, NATIONAL, EMAIL = "Carla Bianchi", "+390212345678", "0212345678", "carla.bianchi@example.com"
OTHER_PHONE = "+390298765432"  # Bruno Verdi: another customer, who must keep everything
DAY = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
SUPPORT = "support@acme.example"
RECORDING = "tvoxcc-call-1741597200-11"
PDF = b"%PDF-1.4 Carla's contract " + bytes(range(256))


def customer_mail() -> bytes:
    mail = EmailMessage()
    mail["From"] = f"{NAME} <{EMAIL}>"
    mail["To"] = SUPPORT
    mail["Subject"] = "Contract of Carla Bianchi"
    mail["Message-ID"] = "<m1@mail.example.com>"
    mail.set_content(f"Hello, I am {NAME}: call me back on 02 1234 5678 ({PHONE}).\n")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="contract.pdf")
    return mail.as_bytes()


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x02" * 8000)
    return buffer.getvalue()


@pytest.fixture
def world(tvox_any: Tvox, db_url: str, tmp_path: Path) -> tuple[Tvox, str, Path]:
    tvox = tvox_any
    tvox.ok("tenant", "add", "acme", "--display-name", "ACME", "--timezone", "UTC", "--country", "IT")
    tvox.ok("service", "add", "-t", "acme", "support", "--channel", "mail", "--channel", "voice")
    tvox.ok("queue", "add", "-t", "acme", "sales", "--service", "support")
    tvox.ok("agent", "add", "-t", "acme", "mario", "--extension", "201", "--queue", "sales")
    tvox.ok("contact", "add", "-t", "acme", "--name", NAME, "--phone", "02 1234 5678", "--email", EMAIL.upper(),
            "--company", "Bianchi Srl", "--language", "it")  # fmt: skip
    tvox.ok("contact", "add", "-t", "acme", "--name", "Bruno Verdi", "--phone", OTHER_PHONE)
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    (recordings / f"{RECORDING}.wav").write_bytes(wav_bytes())
    (tmp_path / "data" / "queue_log").write_text(
        enter_queue(DAY.timestamp(), "chan-1", "acme/sales", PHONE, 1) + "\n"
        + enter_queue(DAY.timestamp() + 60, "chan-2", "acme/sales", OTHER_PHONE, 1) + "\n"
    )  # fmt: skip

    async def rows() -> None:
        store = Store.from_url(db_url)
        async with store.session() as s:
            tenant = (await s.execute(select(m.Tenant).where(m.Tenant.name == "acme"))).scalar_one()
            service = (await s.execute(select(m.Service.id))).scalar_one()
            queue = (await s.execute(select(m.Queue.id))).scalar_one()
            agent = (await s.execute(select(m.Agent.id))).scalar_one()
            owners = dict((await s.execute(select(m.ContactPhone.number, m.ContactPhone.contact_id))).all())
        box = Mailbox(tenant.id, "acme", "ACME", "en", service, SUPPORT, "support@test:143/INBOX")
        templates = MailTemplates()
        async with store.tenant(tenant.id) as s:
            await ingest_mail(s, box, parse_mail(customer_mail()), uid=1, now=DAY, templates=templates)
            await s.commit()
        async with store.tenant(tenant.id) as s:
            await reply(s, 1001, "Dear Carla Bianchi, here it is.", tenant_name="acme", tenant_display="ACME",
                        agent="mario", now=DAY + timedelta(minutes=30), templates=templates)  # fmt: skip
            await set_status(s, 1001, "solved", now=DAY + timedelta(minutes=40))
            calls = []
            for n, (number, answered) in enumerate(((PHONE, True), (PHONE, False), (OTHER_PHONE, True))):
                start = DAY + timedelta(hours=1 + n)
                call = m.Interaction(
                    channel="voice", service_id=service, contact_id=owners[number], external_id=f"chan-{n + 1}",
                    from_address=number, to_address="0299990000", offered_at=start,
                    answered_at=start + timedelta(seconds=20) if answered else None,
                    ended_at=start + timedelta(seconds=200), outcome="answered" if answered else "abandoned",
                    queue_id=queue, agent_id=agent if answered else None,
                    recording=RECORDING if n == 0 else None,
                )  # fmt: skip
                s.add(call)
                await s.flush()
                calls.append(call.id)
                s.add(m.InteractionEvent(interaction_id=call.id, kind="offered", at=start, data={"caller": number}))
            s.add(m.NpsAnswer(interaction_id=calls[0], agent_id=agent, score=9, answered_at=DAY + timedelta(hours=2)))
            s.add(m.Callback(number=PHONE, contact_id=owners[PHONE], queue_id=queue, requested_by_id=calls[1],
                             requested_at=DAY + timedelta(hours=2), status="done",
                             completed_at=DAY + timedelta(hours=3)))  # fmt: skip
            await s.commit()
        async with store.tenant(tenant.id) as s:
            await add_chats(s, service, owners)
            await s.commit()
        await store.dispose()

    asyncio.run(rows())
    return tvox, db_url, recordings


async def add_chats(s: AsyncSession, service: int, owners: dict[str, int]) -> None:
    """Carla's webchat (no contact: only her name and e-mail) and SMS chat (her contact and number), and
    Bruno's SMS chat, which must stay."""
    said = {
        "webchat": ("chat", "", "", None, NAME, EMAIL, f"Hi, I am {NAME}, my number is {NATIONAL}"),
        "carla-sms": ("sms", PHONE, f"PJSIP/{PHONE}", owners[PHONE], "", "", "Please call me back"),
        "bruno-sms": ("sms", OTHER_PHONE, f"PJSIP/{OTHER_PHONE}", owners[OTHER_PHONE], "", "", "Bruno here"),
    }
    for token, (channel, address, reply_to, contact, name, email, text) in said.items():
        chat = m.Chat(
            channel=channel, address=address, reply_to=reply_to, service_id=service, queue="acme/sales",
            status="closed", contact_id=contact, visitor_name=name, visitor_email=email, token_hash=token,
            next_seq=3, closed_at=DAY + timedelta(hours=4),
        )  # fmt: skip
        s.add(chat)
        await s.flush()
        s.add(m.ChatMessage(chat_id=chat.id, seq=1, sender="visitor", body=text, at=DAY + timedelta(hours=4)))
        s.add(m.ChatMessage(chat_id=chat.id, seq=2, sender="agent", body="Thank you", at=DAY + timedelta(hours=4)))


async def chats_left(db_url: str) -> list[tuple[str, int]]:
    store = Store.from_url(db_url)
    async with store.session() as s:
        said = func.count(m.ChatMessage.id)
        query = select(m.Chat.address, said).join(m.ChatMessage).group_by(m.Chat.id, m.Chat.address)
        rows = [(str(a), int(n)) for a, n in (await s.execute(query)).all()]
    await store.dispose()
    return rows


def run(tvox: Tvox, recordings: Path, *args: str) -> tuple[int, str, str]:
    result = tvox(*args, env={"TVOXCC_ASTERISK__RECORDINGS_DIR": str(recordings)})
    return result.exit_code, result.stdout, result.stderr


def report(tvox: Tvox, by: str) -> list[dict[str, object]]:
    data = json.loads(
        tvox.ok("insight", "report", "-t", "acme", "--from", "2026-03-10", "--by", by, "--format", "json")
    )
    return data["rows"]  # type: ignore[no-any-return]


NEEDLES = (NAME, PHONE, NATIONAL, EMAIL, "390212345678")


async def rows_naming(db_url: str) -> list[str]:
    """Every (table, column) of every table whose text names the person, searched by SQL."""
    store = Store.from_url(db_url)
    found = []
    async with store.session() as s:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            for c in columns:
                hit = or_(*(func.lower(cast(c, Text)).contains(n.lower()) for n in NEEDLES))
                if (await s.execute(select(func.count()).select_from(table).where(hit))).scalar_one():
                    found.append(f"{table.name}.{c.name}")
    await store.dispose()
    return found


def files_naming(*places: Path) -> list[str]:
    """Every file (of these files and folders) whose bytes name the person."""
    files = [f for p in places for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    return [str(f) for f in files if any(n.lower().encode() in f.read_bytes().lower() for n in NEEDLES)]


async def after_erase(db_url: str) -> tuple[m.Erasure, m.Interaction, int]:
    store = Store.from_url(db_url)
    async with store.session() as s:
        erasure = (await s.execute(select(m.Erasure))).scalar_one()
        call = (await s.execute(select(m.Interaction).where(m.Interaction.from_address == OTHER_PHONE))).scalar_one()
        count = (await s.execute(select(func.count()).select_from(m.Interaction))).scalar_one()
    await store.dispose()
    return erasure, call, count


def test_export_then_erase_leaves_nothing_and_keeps_the_figures(world: tuple[Tvox, str, Path], tmp_path: Path) -> None:
    tvox, db_url, recordings = world
    before = (report(tvox, "channel"), report(tvox, "agent"))
    assert any(r["offered"] for r in before[0])

    out = tmp_path / "carla.zip"
    code, stdout, _ = run(tvox, recordings, "contact", "export", "-t", "acme", "02 1234 5678", "--out", str(out))
    assert code == 0 and str(out) in stdout
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        data = {n: json.loads(archive.read(n)) for n in names if n.endswith(".json")}
        assert archive.read(f"recordings/{RECORDING}.wav") == wav_bytes()
        attachment = next(n for n in names if n.startswith("attachments/"))
        assert archive.read(attachment) == PDF and attachment.endswith("contract.pdf")
    assert [c["display_name"] for c in data["contacts.json"]] == [NAME]
    interactions = data["interactions.json"]
    kinds = sorted((i["channel"], i["direction"]) for i in interactions)
    assert kinds == [
        ("mail", "inbound"),
        *[("mail", "outbound")] * (len(kinds) - 3),
        ("voice", "inbound"),
        ("voice", "inbound"),
    ]
    assert len(kinds) >= 4 and {i["from_address"] for i in interactions} >= {PHONE, EMAIL}
    assert [t["subject"] for t in data["tickets.json"]] == ["Contract of Carla Bianchi"]
    assert {msg["kind"] for msg in data["ticket_messages.json"]} >= {"inbound", "outbound"}
    assert any(NAME in msg["body_text"] for msg in data["ticket_messages.json"])
    assert {mail["kind"] for mail in data["outbox_mails.json"]} >= {"ack", "reply"}
    assert [a["score"] for a in data["survey_answers.json"]] == [9]
    assert [c["number"] for c in data["callbacks.json"]] == [PHONE]
    assert data["manifest.json"]["counts"]["recording_files"] == 1
    assert sorted((c["channel"], c["address"], c["visitor_email"]) for c in data["chats.json"]) == [
        ("chat", "", EMAIL),
        ("sms", PHONE, ""),
    ]
    assert len(data["chat_messages.json"]) == 4 and any(NATIONAL in c["body"] for c in data["chat_messages.json"])
    assert OTHER_PHONE not in json.dumps(data)  # Bruno's call and chat are not Carla's

    assert set(asyncio.run(rows_naming(db_url))) >= {"contacts.display_name", "interactions.from_address"}
    code, _, stderr = run(tvox, recordings, "contact", "erase", "-t", "acme", EMAIL)
    assert code != 0 and "--yes" in stderr  # no terminal: refused, nothing done
    assert "contacts.display_name" in asyncio.run(rows_naming(db_url))

    code, _, stderr = run(tvox, recordings, "contact", "erase", "-t", "acme", EMAIL, "--yes")
    assert code == 0, stderr
    assert stderr.startswith("erased contact 1 in tenant 'acme'") and "1 recording_files" in stderr
    assert asyncio.run(rows_naming(db_url)) == []
    databases = list(tmp_path.glob("tvoxcc.db*"))  # the SQLite store and its WAL (none on PostgreSQL)
    assert files_naming(tmp_path / "data", recordings, *databases) == []
    assert not (recordings / f"{RECORDING}.wav").exists()
    assert OTHER_PHONE in (tmp_path / "data" / "queue_log").read_text()  # Bruno's line kept
    assert asyncio.run(chats_left(db_url)) == [(OTHER_PHONE, 2)]  # Carla's chats gone, Bruno's kept

    assert (report(tvox, "channel"), report(tvox, "agent")) == before
    assert "no contact" in tvox.fails("contact", "show", "-t", "acme", EMAIL)
    bruno = json.loads(tvox.ok("contact", "show", "-t", "acme", OTHER_PHONE, "--json"))
    assert bruno["name"] == "Bruno Verdi"
    assert "1" in tvox.ok("journey", "show", "-t", "acme", OTHER_PHONE)

    erasure, bruno_call, interactions_left = asyncio.run(after_erase(db_url))
    logged = json.loads(tvox.ok("contact", "erasures", "-t", "acme", "--json"))
    assert [(e["contact"], e["counts"]["contacts"]) for e in logged] == [(1, 1)] and NAME not in json.dumps(logged)
    assert erasure.contact_id == 1 and erasure.counts["interactions"] == len(kinds) and erasure.counts["contacts"] == 1
    assert (erasure.counts["chats"], erasure.counts["chat_messages"]) == (2, 4)
    assert bruno_call.contact_id == bruno["id"] and interactions_left == len(kinds) + 1  # kept, anonymised


def other_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x05\x06" * 12000)
    return buffer.getvalue()


async def repository_recordings(tvox: Tvox, db_url: str) -> dict[str, int]:
    """Three recordings in the (encrypted) repository, as the voice service stores them: one of Carla's
    calls (to be held), one by her contact and number only, and Bruno's."""
    settings = load_settings(tvox.config)
    repository = Repository.of(settings)
    store = Store.from_url(db_url)
    try:
        async with store.session() as s:
            tenant_id = (await s.execute(select(m.Tenant.id).where(m.Tenant.name == "acme"))).scalar_one()
            owners = dict((await s.execute(select(m.ContactPhone.number, m.ContactPhone.contact_id))).all())
            call = (await s.execute(select(m.Interaction.id).where(m.Interaction.external_id == "chan-1"))).scalar_one()
        at = DAY + timedelta(hours=1)
        held = RecordingMeta(tenant_id, at, interaction_id=call, contact_id=owners[PHONE], number=PHONE)
        theirs = RecordingMeta(tenant_id, at, contact_id=owners[PHONE], number=NATIONAL)
        bruno = RecordingMeta(tenant_id, at, contact_id=owners[OTHER_PHONE], number=OTHER_PHONE)
        return {
            "held": await repository.store(store, "acme", held, wav_bytes()),
            "gone": await repository.store(store, "acme", theirs, other_wav()),
            "bruno": await repository.store(store, "acme", bruno, other_wav()),
            "call": call,
        }
    finally:
        await store.dispose()


async def recordings_left(db_url: str) -> dict[int, tuple[int | None, int | None, str, bool]]:
    store = Store.from_url(db_url)
    async with store.session() as s:
        rows = (await s.execute(select(m.Recording))).scalars().all()
    await store.dispose()
    return {r.id: (r.interaction_id, r.contact_id, r.number, r.legal_hold) for r in rows}


def test_repository_recordings_are_exported_and_erased_but_a_held_one_is_kept(
    world: tuple[Tvox, str, Path], tmp_path: Path
) -> None:
    tvox, db_url, recordings = world
    key = tmp_path / "acme.key"
    key.write_text(new_key())
    with tvox.config.open("a") as config:
        config.write(f'\n[recordings.tenants.acme]\nkey_file = "{key}"\n')
    ids = asyncio.run(repository_recordings(tvox, db_url))
    tvox.ok("recording", "hold", "-t", "acme", str(ids["held"]), "--reason", "case 42")
    stored = {p.name: p for p in (tmp_path / "data" / "recordings").rglob("*.enc")}
    assert len(stored) == 3 and all(p.read_bytes().startswith(MAGIC) for p in stored.values())

    out = tmp_path / "carla.zip"
    code, _, stderr = run(tvox, recordings, "contact", "export", "-t", "acme", EMAIL, "--out", str(out))
    assert code == 0, stderr
    with zipfile.ZipFile(out) as archive:
        rows = json.loads(archive.read("recordings.json"))
        manifest = json.loads(archive.read("manifest.json"))
        assert [r["id"] for r in rows] == [ids["held"], ids["gone"]]  # not Bruno's
        assert archive.read(rows[0]["file"]) == wav_bytes()  # decrypted
        assert archive.read(rows[1]["file"]) == other_wav()
    assert (rows[0]["number"], rows[0]["interaction_id"], rows[0]["legal_hold"]) == (PHONE, ids["call"], True)
    assert manifest["counts"]["recordings"] == 2 and manifest["counts"]["recording_files"] == 3

    code, _, stderr = run(tvox, recordings, "contact", "erase", "-t", "acme", PHONE, "--yes")
    assert code == 0, stderr
    assert "kept 1 recordings under legal hold" in stderr and "1 recordings," in stderr
    left = asyncio.run(recordings_left(db_url))
    assert ids["gone"] not in left
    # held: kept with its file and its (anonymised) call, but no longer naming her
    assert left[ids["held"]] == (ids["call"], None, "", True)
    assert left[ids["bruno"]][2] == OTHER_PHONE
    assert len(list((tmp_path / "data" / "recordings").rglob("*.enc"))) == 2
    exported = tmp_path / "held.wav"
    tvox.ok("recording", "export", "-t", "acme", str(ids["held"]), "--out", str(exported))
    assert exported.read_bytes() == wav_bytes()
    assert asyncio.run(rows_naming(db_url)) == []
    databases = list(tmp_path.glob("tvoxcc.db*"))
    assert files_naming(tmp_path / "data", recordings, *databases) == []

    audited = json.loads(tvox.ok("audit", "list", "--tenant", "acme", "--json"))
    export_row = next(r for r in audited if r["action"] == "contact.export")
    erase_row = next(r for r in audited if r["action"] == "contact.erase")
    assert export_row["subject"] == "exported contact 1" and export_row["detail"]["recordings"] == [
        ids["held"],
        ids["gone"],
    ]
    assert erase_row["subject"] == "erased contact 1" and erase_row["detail"]["contacts"] == [1]
    assert (erase_row["detail"]["recordings_deleted"], erase_row["detail"]["recordings_held"]) == (
        [ids["gone"]],
        [ids["held"]],
    )
    assert erase_row["actor"].startswith("cli:") and erase_row["actor"] == export_row["actor"]
    assert not any(n.lower() in json.dumps(audited).lower() for n in NEEDLES)
    verified = tvox("audit", "verify")
    assert verified.exit_code == 0, verified.output
