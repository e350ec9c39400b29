"""Knowledge Base pure rules: article checks, versions, query parsing, snippets, ticket terms."""

from __future__ import annotations

import random
import re
import sqlite3
from datetime import UTC, datetime

import pytest

from tvoxcc.kb.article import (
    ArticleFields,
    Change,
    KbError,
    apply_change,
    check_language,
    check_publish,
    check_slug,
    check_tags,
    check_title,
    check_unpublish,
    new_article,
    version_record,
)
from tvoxcc.kb.query import any_of, fts5_match, parse_query, tsquery
from tvoxcc.kb.snippet import plain_text, render, snippet
from tvoxcc.kb.suggest import own_text, significant_terms

HOSTILE = [
    '"',
    '""',
    '"""',
    "*",
    "**",
    "a*",
    "AND OR NOT",
    "NOT",
    "NEAR(",
    "NEAR(a b, 3)",
    "title:password",
    "{title body}: x",
    "^start",
    "a AND",
    "(",
    ")",
    "'",
    "\\",
    "-x",
    "x:*",
    "!x & y | z <-> w",
    "\x00",
    "🤖🔥",
    "ünïcødé ÇAFÉ",
    "日本語のテキスト",
    "مرحبا بالعالم",
    "\u200b\u200d",
    "e-mail",
    "x" * 5000,
    " ".join(["word"] * 500),
]


def fields(**kw: object) -> ArticleFields:
    base: dict[str, object] = {"slug": "reset-password", "title": "Reset your password", "body": "Go to settings."}
    return ArticleFields(**{**base, **kw})  # type: ignore[arg-type]


def test_slug_title_language_tags_rules() -> None:
    assert check_slug("wifi-setup-2") == "wifi-setup-2"
    for bad in ("", "Wifi", "wifi--setup", "-wifi", "wifi_setup", "wi fi", "a" * 129, "caffè"):
        with pytest.raises(KbError, match="bad slug"):
            check_slug(bad)
    assert check_title("  Reset   your\npassword ") == "Reset your password"
    with pytest.raises(KbError, match="empty title"):
        check_title("  \n ")
    assert [check_language(x) for x in ("EN", "it", "pt_br", "es-419")] == ["en", "it", "pt-BR", "es-419"]
    for bad in ("english", "e", "en-", "en-USA1", ""):
        with pytest.raises(KbError, match="bad language"):
            check_language(bad)
    assert check_tags([" WiFi", "wifi", "rete_ufficio", "città"]) == ("wifi", "rete_ufficio", "città")
    for bad in (["two words"], ["-x"], [""], ["x" * 33]):
        with pytest.raises(KbError, match="bad tag"):
            check_tags(bad)
    with pytest.raises(KbError, match="too many tags"):
        check_tags([f"t{i}" for i in range(21)])


def test_new_article_names_every_problem() -> None:
    with pytest.raises(KbError) as exc:
        new_article(fields(slug="Bad Slug", title="", language="xx-yy-zz", visibility="secret"))
    assert len(exc.value.problems) == 4
    assert new_article(fields(language="IT", tags=("A",))) == fields(language="it", tags=("a",))


def test_edit_makes_a_version_only_when_something_changes() -> None:
    current = new_article(fields(tags=("account",)))
    with pytest.raises(KbError, match="nothing changed"):
        apply_change(current, Change())
    with pytest.raises(KbError, match="nothing changed"):
        apply_change(current, Change(title="  Reset your   password", add_tags=("ACCOUNT",)))
    edited = apply_change(current, Change(body="New text", add_tags=("login",), drop_tags=("account",)))
    assert (edited.body, edited.tags, edited.title) == ("New text", ("login",), current.title)
    with pytest.raises(KbError, match="has no tag 'nope'"):
        apply_change(current, Change(drop_tags=("nope",)))
    with pytest.raises(KbError, match="empty title"):
        apply_change(current, Change(title=" "))
    now = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    record = version_record(edited, 2, " sara ", now)
    assert (record.version, record.author, record.at, record.body) == (2, "sara", now, "New text")
    with pytest.raises(KbError, match="bad author"):
        version_record(edited, 2, "  ", now)


def test_publish_rules() -> None:
    check_publish("x", "draft", "text")
    with pytest.raises(KbError, match="already published"):
        check_publish("x", "published", "text")
    with pytest.raises(KbError, match="body is empty"):
        check_publish("x", "draft", " \n")
    check_unpublish("x", "published")
    with pytest.raises(KbError, match="not published"):
        check_unpublish("x", "draft")


def test_query_parsing() -> None:
    q = parse_query('How to reset the "Wi-Fi password" on a print*')
    assert [(c.words, c.prefix) for c in q.clauses] == [
        (("reset",), False),
        (("wi", "fi", "password"), False),
        (("print",), True),
    ]
    assert fts5_match(q) == '"reset" AND "wi fi password" AND "print"*'
    assert tsquery(q) == "'reset' & ('wi' <-> 'fi' <-> 'password') & 'print':*"
    assert parse_query("the and").clauses  # only stopwords: kept as typed
    assert parse_query('unbalanced "quote printer').clauses[-1].words == ("printer",)
    assert not parse_query("x*").clauses[0].prefix  # a one-letter prefix would expand to half the index
    assert parse_query("“smart quotes”").clauses[0].words == ("smart", "quotes")
    assert parse_query("  ").empty and parse_query('"*"').empty
    assert fts5_match(any_of(["printer", "toner", "printer"])) == '"printer" OR "toner"'
    assert tsquery(any_of(["printer", "toner"])) == "'printer' | 'toner'"


SAFE_FTS5 = re.compile(r'^"[^\W_]+( [^\W_]+)*"\*?( (AND|OR) "[^\W_]+( [^\W_]+)*"\*?)*$')
SAFE_TSQUERY = re.compile(r"^\(?'[^\W_]+'(:\*)?")


def hostile_texts() -> list[str]:
    rng = random.Random(7)
    alphabet = [*"\"'*:^(){}[]-+&|!<>~\\,.; \t\nANDORNOTNEARaé日🤖\x00\u200b_", "AND", "OR", "NOT", "NEAR("]
    return HOSTILE + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(2000)]


def test_hostile_queries_become_safe_fts5_and_tsquery() -> None:
    """Every query we build is accepted by a real FTS5 table; the syntax is only ours."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize='unicode61 remove_diacritics 2')")
    db.execute("INSERT INTO t VALUES ('Reset password', 'and or not near word ünïcødé 日本語のテキスト')")
    for text in hostile_texts():
        for q in (parse_query(text), parse_query(text, match_all=False)):
            if q.empty:
                continue
            match = fts5_match(q)
            assert SAFE_FTS5.match(match), (text, match)
            assert SAFE_TSQUERY.match(tsquery(q)), (text, tsquery(q))
            db.execute("SELECT rowid FROM t WHERE t MATCH ?", (f"{{title body}} : ({match})",)).fetchall()
    assert len(parse_query("x" * 5000).clauses[0].words[0]) == 64


def test_snippet_marks_the_best_window() -> None:
    text = plain_text(
        "# Printers\n\nIntro " + "filler " * 60 + "Replace the **toner** of the [printer](http://x/p) now. "
        "More " + "filler " * 60
    )
    assert "#" not in text and "](" not in text and "**" not in text
    assert plain_text("_emph_ and `code` in rete_ufficio") == "emph and code in rete_ufficio"
    pieces = snippet(text, [("toner", False), ("print", True)])
    shown = render(pieces, "[", "]")
    assert "[toner]" in shown and "[printer]" in shown
    assert shown.startswith("… ") and shown.endswith(" …")
    assert len(shown) <= 170
    assert render(snippet("Il caffè è pronto", [("caffe", False)])) == "Il **caffè** è pronto"
    assert render(snippet("Short text", [("nothing", False)])) == "Short text"
    assert snippet("", [("x", False)]) == []
    assert render(snippet("🤖 !!! ...", [("x", False)])) == "🤖 !!! ..."


def test_significant_terms_of_a_ticket() -> None:
    body = (
        "Hello,\nmy printer shows a toner error 4711 again. The printer is new.\n"
        "On Mon, 9 Mar 2026 Bob wrote:\n> old quoted text about invoices\n"
    )
    assert "invoices" not in own_text(body)
    assert own_text("text\n> quoted\nmore\n--\nsignature") == "text\nmore"
    terms = significant_terms("Toner error", [body])
    assert terms[:3] == ["toner", "error", "printer"]
    assert "4711" not in terms and "hello" not in terms and "the" not in terms and "invoices" not in terms
    assert significant_terms("", []) == []
    assert len(significant_terms(" ".join(f"word{i}x" for i in range(50)), [], limit=8)) == 8


def test_snippet_ascii_fast_path_agrees_with_the_unicode_path() -> None:
    terms = [("password", False), ("reset", False), ("acc", True)]
    text = "To reset the PASSWORD of an account, open Accounts; passwords_ and e-mail are different. Reset!"
    marked = render(snippet(text, terms), "[", "]")
    accented = render(snippet(text + " é", terms), "[", "]")
    assert (
        marked
        == "To [reset] the [PASSWORD] of an [account], open [Accounts]; passwords_ and e-mail are different. [Reset]!"
    )
    assert accented == marked + " é"
