"""The voice service on the real lab Asterisk: sipp callers walk a tenant's IVR by RFC2833 DTMF."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.cli import Tvox
from tests.e2e.voice import SettableClock, interactions, path_of, running_voice, wait_until_ended
from tvoxcc.lab.sipp import Sipp
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

pytestmark = pytest.mark.asterisk

TENANT = Path(__file__).parents[1] / "data" / "e2e-acme.yaml"
MONDAY_10 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Rome
SUNDAY_NIGHT = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
DID = "5551000"


@pytest.fixture(scope="module")
def acme(lab: Any) -> Iterator[Any]:
    tvox = Tvox(lab.config_path)
    tvox.ok("import", str(TENANT))
    sounds = lab.state_dir / "root/usr/share/asterisk/sounds"
    tvox.ok("prompts", "render", "-t", "acme", "--out", str(sounds))
    assert (sounds / "tvoxcc/acme/en/main-menu.wav").exists()
    yield lab


def call(sipp: Sipp, digits: str = "", **kw: Any) -> Any:
    return asyncio.to_thread(lambda: sipp.call(DID, digits, **kw))


async def _one_call(acme: Any, sipp: Sipp, now: datetime, digits: str, **kw: Any) -> tuple[Any, dict[str, Any]]:
    before = len(await interactions(acme.settings))
    async with running_voice(acme.settings, SettableClock(now)):
        run = await call(sipp, digits, **kw)
        rows = await wait_until_ended(acme.settings, before + 1)
    assert len(rows) == before + 1, rows
    return run, rows[-1]


async def test_menu_digit_takes_the_caller_to_the_queue(acme: Any, sipp: Sipp) -> None:
    mark = acme.log_mark()
    run, row = await _one_call(acme, sipp, MONDAY_10, "1", wait_ms=1500, hangup="us")
    run.check()
    assert path_of(row) == ["hours", "main", "sales"]
    kinds = [k for k, _ in row["events"]]
    assert kinds[0] == "offered" and "queued" in kinds and kinds[-1] == "ended"
    assert ("ivr-input", {"node": "main", "digit": "1"}) in row["events"]
    assert row["outcome"] == "abandoned"  # the caller hung up while waiting in the queue
    log = acme.log_since(mark)
    assert "tvoxcc/acme/en/main-menu" in log  # our rendered prompt was played


async def test_collected_digits_travel_with_the_call(acme: Any, sipp: Sipp) -> None:
    run, row = await _one_call(acme, sipp, MONDAY_10, "2123", wait_ms=1000, hangup="us")
    run.check()
    assert path_of(row) == ["hours", "main", "code", "sales"], row["events"]
    digits = [d["digit"] for k, d in row["events"] if k == "ivr-input"]
    assert digits == ["2", "1", "2", "3"]


async def test_out_of_hours_branch_follows_the_injected_clock(acme: Any, sipp: Sipp) -> None:
    run, row = await _one_call(acme, sipp, SUNDAY_NIGHT, "", wait_ms=200, hangup="them")
    run.check()  # we hung up after the goodbye: sipp saw our BYE
    assert path_of(row) == ["hours", "closed"]
    assert row["outcome"] == "hangup"


async def test_invalid_input_retries_then_takes_the_final_action(acme: Any, sipp: Sipp) -> None:
    run, row = await _one_call(acme, sipp, MONDAY_10, "99", wait_ms=1000, hangup="them")  # 9: not an option
    run.check()
    assert path_of(row) == ["hours", "main", "bye"]
    assert [k for k, _ in row["events"]].count("ivr-failed") == 1
    assert row["outcome"] == "hangup"


async def test_missing_input_retries_then_takes_the_final_action(acme: Any, sipp: Sipp) -> None:
    run, row = await _one_call(acme, sipp, MONDAY_10, "", wait_ms=200, hangup="them", bye_timeout_ms=30000)
    run.check()
    assert path_of(row) == ["hours", "main", "bye"]
    assert row["outcome"] == "hangup"


async def test_voicemail_becomes_a_ticket_with_the_recording(acme: Any, sipp: Sipp) -> None:
    run, row = await _one_call(acme, sipp, MONDAY_10, "3", wait_ms=1000, hangup="them", bye_timeout_ms=30000)
    run.check()
    assert path_of(row) == ["hours", "main", "leave-message"]
    assert row["outcome"] == "voicemail" and row["ticket_id"] is not None
    store = Store.from_url(acme.settings.database.url.get_secret_value())
    async with store.session() as session:
        ticket = await session.get(m.Ticket, row["ticket_id"])
        attachment = (
            await session.execute(
                select(m.Attachment).join(m.TicketMessage).where(m.TicketMessage.ticket_id == row["ticket_id"])
            )
        ).scalar_one()
    await store.dispose()
    assert ticket is not None and ticket.subject == "Voicemail from caller" and ticket.status == "new"
    # The WAV Asterisk recorded, fetched over ARI. sipp sends no audio, so it holds a header and silence.
    assert attachment.data[:4] == b"RIFF" and attachment.data[8:12] == b"WAVE"
    assert attachment.size == len(attachment.data) >= 44


async def test_callback_request_is_stored(acme: Any, sipp: Sipp) -> None:
    run, row = await _one_call(acme, sipp, MONDAY_10, "4", wait_ms=1000, hangup="them")
    run.check()
    assert row["outcome"] == "callback"
    store = Store.from_url(acme.settings.database.url.get_secret_value())
    async with store.session() as session:
        callback = (
            await session.execute(select(m.Callback).where(m.Callback.requested_by_id == row["id"]))
        ).scalar_one()
    await store.dispose()
    assert (callback.number, callback.status) == ("caller", "pending")


async def test_transfer_hands_the_call_to_an_extension(acme: Any, sipp: Sipp) -> None:
    mark = acme.log_mark()
    # A short gap after the digit: sipp takes a BYE during a pause for an unexpected message.
    run, row = await _one_call(acme, sipp, MONDAY_10, "7", wait_ms=1000, gap_ms=50, hangup="them")
    run.check()  # extension 1001 (alice) is not registered: the dialplan hangs up after trying her
    assert path_of(row) == ["hours", "main", "operator"]
    assert row["outcome"] == "transfer"
    assert 'Dial("PJSIP/caller-' in acme.log_since(mark) and "PJSIP/acme-alice" in acme.log_since(mark)


async def test_language_choice_is_kept_for_the_rest_of_the_call(acme: Any, sipp: Sipp) -> None:
    run, row = await _one_call(acme, sipp, MONDAY_10, "81", wait_ms=1000, hangup="us")
    run.check()
    assert path_of(row) == ["hours", "main", "lang", "lang-check", "sales"]  # the branch saw language "it"
