"""`tvoxcc contact` on SQLite and PostgreSQL: the address book on the journey's one contacts model and lookup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import Tvox

CSV_GOOD = (
    "name,phone,email,company,language,vip,notes\n"
    'Anna Rossi,0298765432,Anna@X.it,Rossi Spa,it,yes,"prefers mail\nafter 5pm"\n'
    "Bob Neri,+39 03 1111 1111;333 222 1111,,,,no,\n"
)


@pytest.fixture
def acme(tvox_any: Tvox) -> Tvox:
    tvox_any.ok("tenant", "add", "acme", "--country", "IT")
    tvox_any.ok("tenant", "add", "beta", "--country", "GB")
    return tvox_any


def show(tvox: Tvox, ref: str, tenant: str = "acme") -> dict[str, object]:
    return json.loads(tvox.ok("contact", "show", "-t", tenant, ref, "--json"))  # type: ignore[no-any-return]


def test_add_show_set_list_remove(acme: Tvox) -> None:
    out = acme.ok(
        "contact", "add", "-t", "acme", "--name", "Carla Bianchi", "--phone", "02 1234 5678", "--email",
        "Carla@Bianchi.IT", "--company", "Bianchi Srl", "--language", "it", "--vip",
    )  # fmt: skip
    assert out.strip() == "contact 1 added"
    for ref in ("1", "#1", "+390212345678", "0039 02 1234 5678", "carla@bianchi.it", "CARLA@bianchi.it"):
        carla = show(acme, ref)
        assert (carla["id"], carla["phones"], carla["emails"]) == (1, ["+390212345678"], ["carla@bianchi.it"])
    assert carla["vip"] is True and carla["language"] == "it" and carla["company"] == "Bianchi Srl"
    # the same number or address in another form, in the same tenant: refused, naming who has it
    for option, value in (("--phone", "+39 (02) 1234-5678"), ("--email", "CARLA@BIANCHI.IT")):
        err = acme.fails("contact", "add", "-t", "acme", "--name", "Other", option, value)
        assert "already belongs to contact 1" in err
    # another tenant is another address book (its own country: a British number)
    acme.ok(
        "contact", "add", "-t", "beta", "--name", "Carla B.", "--phone", "+390212345678", "--phone", "020 7946 0018"
    )
    assert show(acme, "020 7946 0018", "beta")["phones"] == ["+390212345678", "+442079460018"]
    acme.ok("contact", "set", "-t", "acme", "0212345678", "--phone", "333 123 4567", "--drop-email", "carla@bianchi.it",
            "--no-vip", "--notes", "calls on Mondays", "--language", "")  # fmt: skip
    carla = show(acme, "3331234567")
    assert carla["phones"] == ["+390212345678", "+393331234567"] and carla["emails"] == []
    assert (carla["vip"], carla["notes"], carla["language"]) == (False, "calls on Mondays", None)
    assert "contact 1 has no phone +390299999999" in acme.fails("contact", "set", "-t", "acme", "1", "--drop-phone",
                                                                 "0299999999")  # fmt: skip
    listed = json.loads(acme.ok("contact", "list", "-t", "acme", "--json"))
    assert [c["name"] for c in listed] == ["Carla Bianchi"]
    assert "Carla Bianchi" in acme.ok("contact", "list", "-t", "acme")
    assert "contact 1 removed" in acme.ok("contact", "remove", "-t", "acme", "1")
    assert "no contact" in acme.fails("contact", "show", "-t", "acme", "0212345678")
    assert json.loads(acme.ok("contact", "list", "-t", "acme", "--json")) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--phone", "12"), "phone '12' is not a phone number (country IT)"),
        (("--email", "carla@"), "e-mail 'carla@' is not an e-mail address"),
        (("--name", "C", "--language", "italian!"), "language 'italian!' is not a language code"),
        ((), "a contact needs a name, a phone or an e-mail"),
        (("--name", "x" * 201), "name is longer than 200 characters"),
    ],
)
def test_bad_input_is_one_line_and_stores_nothing(acme: Tvox, args: tuple[str, ...], message: str) -> None:
    err = acme.fails("contact", "add", "-t", "acme", *args)
    assert message in err and len(err.strip().splitlines()) == 1
    assert json.loads(acme.ok("contact", "list", "-t", "acme", "--json")) == []


def test_import_is_all_or_nothing_then_export_round_trips(acme: Tvox, tmp_path: Path) -> None:
    acme.ok("contact", "add", "-t", "acme", "--name", "Carla", "--phone", "0212345678")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "name,phone,email,vip\n"
        "Anna,0298765432,anna@x.it,yes\n"
        "Bad,12,bad@,maybe\n"
        "Anna again,02 98765432,,no\n"
        "Carla's twin,+390212345678,,\n"
        "Short,0311111111\n"
    )
    err = acme.fails("contact", "import", "-t", "acme", str(bad))
    assert err.strip().splitlines() == [
        f"error: {bad}:3: phone '12' is not a phone number (country IT); e-mail 'bad@' is not an e-mail address; "
        "vip 'maybe' is not yes or no",
        f"error: {bad}:4: +390298765432 is also on line 2",
        f"error: {bad}:5: +390212345678 already belongs to contact 1",
        f"error: {bad}:6: 2 cells, the header has 4",
    ]
    assert len(json.loads(acme.ok("contact", "list", "-t", "acme", "--json"))) == 1  # nothing stored
    header = tmp_path / "header.csv"
    header.write_text("name,mobile\nAnna,0298765432\n")
    assert "header.csv:1: unknown column 'mobile'" in acme.fails("contact", "import", "-t", "acme", str(header))

    good = tmp_path / "good.csv"
    good.write_text(CSV_GOOD, encoding="utf-8-sig")  # with a BOM, as spreadsheets write it
    assert "2 contacts would be added (dry run)" in acme.ok("contact", "import", "-t", "acme", str(good), "--dry-run")
    assert len(json.loads(acme.ok("contact", "list", "-t", "acme", "--json"))) == 1
    assert "2 contacts added" in acme.ok("contact", "import", "-t", "acme", str(good))
    anna = show(acme, "anna@x.it")
    assert (anna["name"], anna["company"], anna["vip"], anna["notes"]) == ("Anna Rossi", "Rossi Spa", True,
                                                                           "prefers mail\nafter 5pm")  # fmt: skip
    assert show(acme, "3332221111")["phones"] == ["+390311111111", "+393332221111"]

    exported = tmp_path / "book.csv"
    assert "3 contacts" in acme.ok("contact", "export", "-t", "acme", "--out", str(exported))
    assert acme.ok("contact", "export", "-t", "acme") == exported.read_text()
    acme.ok("tenant", "add", "copy", "--country", "IT")
    assert "3 contacts added" in acme.ok("contact", "import", "-t", "copy", str(exported))

    def book(tenant: str) -> list[dict[str, object]]:
        rows = json.loads(acme.ok("contact", "list", "-t", tenant, "--json"))
        return [{k: v for k, v in r.items() if k not in ("id", "created_at")} for r in rows]

    assert book("copy") == book("acme")


def test_a_contact_added_by_hand_is_who_the_journey_finds(acme: Tvox) -> None:
    acme.ok("contact", "add", "-t", "acme", "--name", "Carla Bianchi", "--phone", "02 1234 5678", "--vip")
    summary = json.loads(acme.ok("journey", "summary", "-t", "acme", "+39 02 1234 5678", "--json"))
    assert summary["contact"]["display_name"] == "Carla Bianchi" and summary["vip"] is True
    assert json.loads(acme.ok("journey", "duplicates", "-t", "acme", "--json")) == []


def test_cli_changes_leave_the_web_apis_audit_rows(acme: Tvox, tmp_path: Path) -> None:
    """add, set, import and remove each write their contact.* row (ids and field names only); a refused change and
    an import's dry run write none; the chain still verifies."""
    env = {"TVOXCC_ACTOR": "carol"}
    assert acme("contact", "add", "-t", "acme", "--name", "Carla Bianchi", "--phone", "0212345678",
                env=env).exit_code == 0  # fmt: skip
    assert acme("contact", "set", "-t", "acme", "0212345678", "--phone", "333 123 4567", "--no-vip",
                env=env).exit_code == 0  # fmt: skip
    acme.fails("contact", "add", "-t", "acme", "--phone", "12")
    acme.fails("contact", "set", "-t", "acme", "1", "--drop-phone", "0299999999")
    good = tmp_path / "good.csv"
    good.write_text(CSV_GOOD)
    acme.ok("contact", "import", "-t", "acme", str(good), "--dry-run")
    assert acme("contact", "import", "-t", "acme", str(good), env=env).exit_code == 0
    assert acme("contact", "remove", "-t", "acme", "1", env=env).exit_code == 0
    rows = [
        r for r in json.loads(acme.ok("audit", "list", "--json", "-t", "acme")) if r["action"].startswith("contact")
    ]
    imported = sorted(c["id"] for c in json.loads(acme.ok("contact", "list", "-t", "acme", "--json")))
    removed = {"interactions": 0, "tickets": 0, "callbacks": 0, "contacts": 1}
    assert [(r["action"], r["actor"], r["tenant"], r["subject"], r["detail"]) for r in rows] == [
        ("contact.add", "cli:carol", "acme", "added contact 1", {"id": 1}),
        ("contact.change", "cli:carol", "acme", "changed contact 1", {"id": 1, "fields": ["vip", "add_phones"]}),
        ("contact.import", "cli:carol", "acme", "imported 2 contacts", {"ids": imported}),
        ("contact.remove", "cli:carol", "acme", "removed contact 1", {"id": 1, **removed}),
    ]
    logged = json.dumps(rows)
    assert all(secret not in logged for secret in ("Carla", "Anna", "0212345678", "3331234567", "x.it"))
    assert acme.ok("audit", "verify").strip() == "audit log intact: 6 rows"  # two tenant adds, four contact changes
