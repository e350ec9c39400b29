"""The address book's rules, pure: a contact's fields checked and normalised, a CSV file read and written.

Phones are kept in E.164 and e-mails case-folded (``tvoxcc.journey.contacts``), so that the one contact
lookup (``tvoxcc.journey.identify``) finds a contact typed in by hand or imported as it finds one the mail
channel created. A CSV file has the columns of ``CSV_COLUMNS`` (any order, ``name`` required); a cell may
hold several phones or e-mails separated by ``;``. Every problem is one line naming where it is
(``contacts.csv:7: phone '12' is not a phone number (country IT)``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tvoxcc.journey.contacts import JourneyError, normalise_email, normalise_phone
from tvoxcc.journey.rows import ContactRow

CSV_COLUMNS = ("name", "phone", "email", "company", "language", "vip", "notes")
SEPARATOR = ";"  # between several phones or e-mails in one CSV cell
NAME_MAX, COMPANY_MAX, NOTES_MAX = 200, 200, 10_000
LANGUAGE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")  # it, en, pt-BR, zh-Hant
TRUE, FALSE = frozenset({"yes", "y", "true", "1", "x"}), frozenset({"no", "n", "false", "0", ""})


class BookError(JourneyError):
    """Bad contact data; ``problems`` has one line per problem."""


@dataclass(frozen=True, slots=True)
class ContactFields:
    """A new contact, checked and normalised."""

    name: str
    phones: tuple[str, ...] = ()  # E.164
    emails: tuple[str, ...] = ()  # case-folded
    company: str = ""
    language: str | None = None
    vip: bool = False
    notes: str = ""


@dataclass(frozen=True, slots=True)
class ContactChanges:
    """What ``contact set`` changes; None (or empty) leaves a field as it is. ``language=""`` clears it."""

    name: str | None = None
    company: str | None = None
    language: str | None = None
    vip: bool | None = None
    notes: str | None = None
    add_phones: tuple[str, ...] = ()
    drop_phones: tuple[str, ...] = ()
    add_emails: tuple[str, ...] = ()
    drop_emails: tuple[str, ...] = ()


@dataclass
class _Problems:
    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)


def parse_vip(text: str) -> bool | None:
    """``yes``/``no`` and the usual spellings; None when it is none of them."""
    value = text.strip().casefold()
    return True if value in TRUE else False if value in FALSE else None


def _phones(values: Iterable[str], country: str, out: _Problems) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        if not value.strip():
            continue
        phone = normalise_phone(value, country)
        if phone is None:
            out.add(f"phone {value.strip()[:40]!r} is not a phone number (country {country})")
        elif phone not in found:
            found.append(phone)
    return tuple(found)


def _emails(values: Iterable[str], out: _Problems) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        if not value.strip():
            continue
        email = normalise_email(value)
        if email is None or len(email) > 254:
            out.add(f"e-mail {value.strip()[:60]!r} is not an e-mail address")
        elif email not in found:
            found.append(email)
    return tuple(found)


def _text(value: str | None, what: str, limit: int, out: _Problems) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if len(text) > limit:
        out.add(f"{what} is longer than {limit} characters")
    return text


def _language(value: str | None, out: _Problems) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(text) > 16 or not LANGUAGE.match(text):
        out.add(f"language {text[:20]!r} is not a language code (it, en, pt-BR…)")
    return text


def check_new(
    *,
    name: str,
    phones: Sequence[str] = (),
    emails: Sequence[str] = (),
    company: str = "",
    language: str | None = None,
    vip: bool = False,
    notes: str = "",
    country: str,
) -> tuple[ContactFields | None, list[str]]:
    """A new contact's fields normalised, or the problems (one line each, without a location)."""
    out = _Problems()
    fields = ContactFields(
        name=_text(name, "name", NAME_MAX, out) or "",
        phones=_phones(phones, country, out),
        emails=_emails(emails, out),
        company=_text(company, "company", COMPANY_MAX, out) or "",
        language=_language(language, out),
        vip=vip,
        notes=_text(notes, "notes", NOTES_MAX, out) or "",
    )
    if not out.lines and not (fields.name or fields.phones or fields.emails):
        out.add("a contact needs a name, a phone or an e-mail")
    return (None, out.lines) if out.lines else (fields, [])


def check_changes(changes: ContactChanges, country: str) -> ContactChanges:
    """The changes with phones and e-mails normalised; BookError listing every problem."""
    out = _Problems()
    checked = ContactChanges(
        name=_text(changes.name, "name", NAME_MAX, out),
        company=_text(changes.company, "company", COMPANY_MAX, out),
        language=""
        if changes.language is not None and not changes.language.strip()
        else _language(changes.language, out),
        vip=changes.vip,
        notes=_text(changes.notes, "notes", NOTES_MAX, out),
        add_phones=_phones(changes.add_phones, country, out),
        drop_phones=_phones(changes.drop_phones, country, out),
        add_emails=_emails(changes.add_emails, out),
        drop_emails=_emails(changes.drop_emails, out),
    )
    if out.lines:
        raise BookError(*out.lines)
    return checked


@dataclass(frozen=True, slots=True)
class CsvEntry:
    line: int  # where the record starts in the file (the header is line 1)
    fields: ContactFields


Problem = tuple[int, str]  # (line, what): located as ``file:line: what`` by ``located``


@dataclass(frozen=True, slots=True)
class CsvRead:
    entries: list[CsvEntry]  # the good rows
    problems: list[Problem]  # the bad ones


def located(problems: Iterable[Problem], source: str) -> list[str]:
    """One line per bad row, its problems joined: ``contacts.csv:7: phone '12' is …; vip 'maybe' is …``."""
    rows: dict[int, list[str]] = {}
    for line, what in problems:
        rows.setdefault(line, []).append(what)
    return [f"{source}:{line}: {'; '.join(rows[line])}" for line in sorted(rows)]


def read_csv(text: str, source: str, country: str) -> CsvRead:
    """Every record of a contacts CSV file, checked: the good rows, and one problem per bad one.

    Besides each row's own checks, a phone or e-mail given on two rows is refused on the second one:
    an import creates one contact per row, and the store keeps an address on one contact only.
    A bad header (nothing can be read without it) is BookError at once.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))  # a BOM from spreadsheet exports
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise BookError(f"{source}:1: not a CSV file ({exc})") from None
    if header is None:
        raise BookError(f"{source}: empty file: expected a header line with {', '.join(CSV_COLUMNS)}")
    columns = [h.strip().casefold() for h in header]
    problems: list[Problem] = []
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown:
        problems.append((1, f"unknown column {unknown[0][:40]!r} (columns: {', '.join(CSV_COLUMNS)})"))
    if "name" not in columns:
        problems.append((1, f"no 'name' column (columns: {', '.join(CSV_COLUMNS)})"))
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        problems.append((1, f"column {twice[0]!r} appears twice"))
    if problems:
        raise BookError(*located(problems, source))
    entries: list[CsvEntry] = []
    seen: dict[str, int] = {}  # phone or e-mail -> the line it was first on
    start = 2
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(columns):
                problems.append((line, f"{len(record)} cells, the header has {len(columns)}"))
                continue
            entry = _entry(dict(zip(columns, record, strict=True)), line, country, problems)
            if entry is None:
                continue
            for key in (*entry.fields.phones, *entry.fields.emails):
                if key in seen:
                    problems.append((line, f"{key} is also on line {seen[key]}"))
                else:
                    seen[key] = line
            entries.append(entry)
    except csv.Error as exc:
        problems.append((reader.line_num, str(exc)))
    return CsvRead(entries, problems)


def _entry(cells: Mapping[str, str], line: int, country: str, problems: list[Problem]) -> CsvEntry | None:
    vip = parse_vip(cells.get("vip", ""))
    fields, found = check_new(
        name=cells.get("name", ""),
        phones=cells.get("phone", "").split(SEPARATOR),
        emails=cells.get("email", "").split(SEPARATOR),
        company=cells.get("company", ""),
        language=cells.get("language") or None,
        vip=bool(vip),
        notes=cells.get("notes", ""),
        country=country,
    )
    if vip is None:
        found.append(f"vip {cells['vip'].strip()[:20]!r} is not yes or no")
    problems.extend((line, p) for p in found)
    return CsvEntry(line, fields) if fields is not None and vip is not None else None


def taken_problems(entries: Iterable[CsvEntry], owners: Mapping[str, int]) -> list[Problem]:
    """Rows whose phone or e-mail already belongs to a stored contact (``owners``: address -> contact id)."""
    return [
        (entry.line, f"{key} already belongs to contact {owners[key]}")
        for entry in entries
        for key in (*entry.fields.phones, *entry.fields.emails)
        if key in owners
    ]


def contact_json(contact: ContactRow) -> dict[str, object]:
    """What ``contact show --json`` and the web API answer."""
    return {
        "id": contact.id,
        "name": contact.display_name,
        "phones": list(contact.phones),
        "emails": list(contact.emails),
        "company": contact.company,
        "language": contact.language,
        "vip": contact.vip,
        "notes": contact.notes,
        "created_at": contact.created_at.isoformat() if contact.created_at else None,
    }


def write_csv(contacts: Iterable[ContactRow]) -> str:
    """The address book as CSV, readable back by ``read_csv``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for contact in contacts:
        writer.writerow(
            [
                contact.display_name,
                SEPARATOR.join(contact.phones),
                SEPARATOR.join(contact.emails),
                contact.company,
                contact.language or "",
                "yes" if contact.vip else "no",
                contact.notes,
            ]
        )
    return buffer.getvalue()
