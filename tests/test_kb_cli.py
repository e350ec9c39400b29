"""`tvoxcc kb` on SQLite and PostgreSQL, and suggested articles in `tvoxcc support show`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.cli import Tvox
from tests.test_kb_core import HOSTILE
from tvoxcc.store import models as m
from tvoxcc.store.engine import Store

T = ("-t", "acme")


async def add_ticket(url: str, tenant: str = "acme") -> None:
    """Ticket T-1001 as the mail channel stores it (the mail path itself is tested in test_mail_flow)."""
    store = Store.from_url(url)
    async with store.session() as s:
        tid = (await s.execute(select(m.Tenant.id).where(m.Tenant.name == tenant))).scalar_one()
    async with store.tenant(tid) as s:
        ticket = m.Ticket(number=1001, subject="Order 4711 has not arrived", status="new")
        s.add(ticket)
        await s.flush()
        body = "Hello,\nmy order 4711 was due on Monday and has not arrived yet. Can you check?\nGiulia\n"
        s.add(m.TicketMessage(ticket_id=ticket.id, kind="inbound", author="giulia@example.test", body_text=body))
        await s.commit()
    await store.dispose()


@pytest.fixture
def kb_any(tvox_any: Tvox) -> Tvox:
    tvox_any.ok("tenant", "add", "acme")
    tvox_any.ok("tenant", "add", "globex")
    return tvox_any


def test_articles_search_and_suggest(kb_any: Tvox, db_url: str, tmp_path: Path) -> None:
    body = tmp_path / "late.md"
    body.write_text("# Late orders\n\nIf an order has **not arrived**, check the tracking link in the mail.\n")
    out = kb_any.ok("kb", "add", *T, "--slug", "late-order", "--title", "Order not arrived", "--body-file", str(body),
                    "--tag", "orders", "--public")  # fmt: skip
    assert "late-order added (version 1, draft, public)" in out
    kb_any.ok("kb", "add", *T, "--slug", "toner", "--title", "Replace the toner", "--body", "-", "--publish",
              input="Open the printer and swap the toner cartridge.\n")  # fmt: skip
    kb_any.ok("kb", "add", "-t", "globex", "--slug", "late-order", "--title", "Order not arrived", "--body", "x y",
              "--publish")  # fmt: skip
    assert json.loads(kb_any.ok("kb", "search", *T, "order", "--json")) == []  # still a draft
    assert [a["slug"] for a in json.loads(kb_any.ok("kb", "search", *T, "order", "--all", "--json"))] == ["late-order"]
    kb_any.ok("kb", "publish", *T, "late-order")

    hits = json.loads(kb_any.ok("kb", "search", *T, "tracking", "--json"))
    assert [(h["slug"], h["status"], h["version"]) for h in hits] == [("late-order", "published", 1)]
    assert "**tracking**" in hits[0]["snippet"] and "#" not in hits[0]["snippet"]
    text = kb_any.ok("kb", "search", *T, "toner")
    assert text.splitlines()[0].startswith("1. toner  Replace the toner  [en, internal, v1]")
    assert "**toner**" in text
    assert [h["slug"] for h in json.loads(kb_any.ok("kb", "search", *T, "order", "--public", "--json"))] == [
        "late-order"
    ]
    assert json.loads(kb_any.ok("kb", "search", *T, "toner", "--public", "--json")) == []
    for hostile in HOSTILE[:-2]:
        result = kb_any("kb", "search", *T, "--json", "--", hostile)
        assert result.exit_code in (0, 1) and "Traceback" not in result.output, (hostile, result.output)

    kb_any.ok("kb", "edit", *T, "late-order", "--title", "Order has not arrived", "--author", "sara", "--tag", "mail")
    history = json.loads(kb_any.ok("kb", "history", *T, "late-order", "--json"))
    assert [(v["version"], v["author"], v["title"]) for v in history] == [
        (1, "admin", "Order not arrived"),
        (2, "sara", "Order has not arrived"),
    ]
    old = json.loads(kb_any.ok("kb", "show", *T, "late-order", "--version", "1", "--json"))
    assert (old["version"], old["current_version"], old["title"]) == (1, 2, "Order not arrived")
    shown = kb_any.ok("kb", "show", *T, "late-order")
    assert shown.startswith("late-order: Order has not arrived\nversion 2 by sara")
    assert "tags: orders, mail" in shown and "# Late orders" in shown
    listed = json.loads(kb_any.ok("kb", "list", *T, "--json"))
    assert [(a["slug"], a["version"]) for a in listed] == [("late-order", 2), ("toner", 1)]
    assert "late-order" in kb_any.ok("kb", "list", *T, "--tag", "mail")

    asyncio.run(add_ticket(db_url))
    suggested = json.loads(kb_any.ok("kb", "suggest", *T, "T-1001", "--json"))
    assert suggested["terms"][:2] == ["order", "arrived"]
    assert [a["slug"] for a in suggested["articles"]] == ["late-order"]
    assert "1. late-order  Order has not arrived" in kb_any.ok("kb", "suggest", *T, "1001")
    thread = kb_any.ok("support", "show", *T, "T-1001")
    assert "Suggested articles" in thread and "late-order  Order has not arrived  [public]" in thread
    data = json.loads(kb_any.ok("support", "show", *T, "T-1001", "--json"))
    assert data["suggested_articles"] == [
        {"slug": "late-order", "title": "Order has not arrived", "visibility": "public"}
    ]
    kb_any.ok("kb", "unpublish", *T, "late-order")
    assert json.loads(kb_any.ok("kb", "suggest", *T, "T-1001", "--json"))["articles"] == []


@pytest.fixture
def kb(tvox: Tvox) -> Tvox:
    tvox.ok("tenant", "add", "acme")
    tvox.ok("kb", "add", *T, "--slug", "wifi", "--title", "Office Wi-Fi", "--body", "Network acme-guest")
    return tvox


def test_bad_input_is_refused_and_nothing_changes(kb: Tvox, tmp_path: Path) -> None:
    def refused(*args: str, message: str, input: str | None = None) -> None:
        out = kb.fails(*args, input=input)
        assert message in out, out

    refused("kb", "add", "-t", "nope", "--slug", "x", "--title", "X", message="error: unknown tenant 'nope'")
    refused("kb", "add", *T, "--slug", "wifi", "--title", "X", message="error: article 'wifi' already exists")
    refused("kb", "add", *T, "--slug", "new", "--title", "  ", message="error: empty title")
    refused("kb", "add", *T, "--slug", "Bad Slug", "--title", "", "--language", "english", "--tag", "a b",
            message="error: bad slug 'Bad Slug'")  # fmt: skip
    out = kb.fails("kb", "add", *T, "--slug", "Bad Slug", "--title", "", "--language", "english")
    assert len([line for line in out.splitlines() if line.startswith("error:")]) == 3
    refused("kb", "add", *T, "--slug", "x", "--title", "X", "--body-file", str(tmp_path / "missing.md"),
            message="error: cannot read")  # fmt: skip
    refused("kb", "add", *T, "--slug", "x", "--title", "X", "--body", "a", "--body-file", "-", message="body once")
    refused("kb", "show", *T, "nope", message="error: no article 'nope'")
    refused("kb", "show", *T, "wifi", "--version", "7", message="error: article 'wifi' has no version 7")
    refused("kb", "edit", *T, "wifi", message="error: nothing changed in 'wifi'")
    refused("kb", "edit", *T, "wifi", "--drop-tag", "nope", message="error: article 'wifi' has no tag 'nope'")
    refused("kb", "edit", *T, "nope", "--title", "X", message="error: no article 'nope'")
    refused("kb", "unpublish", *T, "wifi", message="error: article 'wifi' is not published")
    refused("kb", "search", *T, '" * "', message="error: nothing to search for")
    refused("kb", "search", *T, "x", "--language", "english", message="error: bad language")
    refused("kb", "suggest", *T, "T-x", message="error: bad ticket number")
    refused("kb", "suggest", *T, "T-4242", message="error: no ticket T-4242")
    kb.ok("kb", "edit", *T, "wifi", "--body", " ")
    refused("kb", "publish", *T, "wifi", message="error: cannot publish 'wifi': its body is empty")
    kb.ok("kb", "edit", *T, "wifi", "--body", "Network acme-guest")
    kb.ok("kb", "publish", *T, "wifi")
    refused("kb", "publish", *T, "wifi", message="error: article 'wifi' is already published")
    history = json.loads(kb.ok("kb", "history", *T, "wifi", "--json"))
    assert [v["version"] for v in history] == [1, 2, 3]  # the refused edits made no version


def test_edit_in_the_editor(kb: Tvox) -> None:
    # $EDITOR gets the current Markdown body; headings ('#') are kept, unlike in mail replies
    result = kb("kb", "edit", *T, "wifi", "--editor", "--author", "sara", env={"EDITOR": "sed -i 1i#_Wi-Fi"})
    assert result.exit_code == 0, result.output
    assert "version 2" in result.output
    body = json.loads(kb.ok("kb", "show", *T, "wifi", "--json"))["body"]
    assert body.startswith("#_Wi-Fi\nNetwork acme-guest")
    unchanged = kb("kb", "edit", *T, "wifi", "--editor", env={"EDITOR": "true"})
    assert unchanged.exit_code == 1 and "editor closed without saving" in unchanged.output
