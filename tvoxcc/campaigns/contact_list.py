"""A campaign's contact list as CSV: one number column, any other columns kept as the record's custom fields.

Validated all-or-nothing: every problem is reported as file:line, and a list with any problem adds nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from tvoxcc.campaigns.windows import NumberError, normalise

MAX_FIELD = 1000


@dataclass(frozen=True, slots=True)
class ListedRecord:
    number: str  # E.164
    fields: dict[str, str]
    source: str  # file:line


class ListError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[0] if problems else "the list is not valid")
        self.problems = problems


def parse_list(text: str, name: str, number_column: str, region: str) -> list[ListedRecord]:
    """The records of a CSV contact list; ListError with every problem (file:line: what) if any."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise ListError([f"{name}:1: the list is empty (a header line naming the columns comes first)"])
    columns = [h.strip() for h in header]
    problems: list[str] = []
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        problems.append(f"{name}:1: column {duplicates[0]!r} appears twice")
    if number_column not in columns:
        raise ListError([*problems, f"{name}:1: no {number_column!r} column (columns: {', '.join(columns)})"])
    at = columns.index(number_column)
    records: list[ListedRecord] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            problems.append(f"{name}:{line}: {len(row)} values, the header has {len(columns)} columns")
            continue
        too_long = next((c for c, v in zip(columns, row, strict=True) if len(v) > MAX_FIELD), None)
        if too_long is not None:
            problems.append(f"{name}:{line}: {too_long!r} is longer than {MAX_FIELD} characters")
            continue
        try:
            number = normalise(row[at].strip(), region)
        except NumberError as exc:
            problems.append(f"{name}:{line}: {exc}")
            continue
        fields = {c: v.strip() for i, (c, v) in enumerate(zip(columns, row, strict=True)) if i != at}
        records.append(ListedRecord(number, fields, f"{name}:{line}"))
    if problems:
        raise ListError(problems)
    if not records:
        raise ListError([f"{name}:2: the list has no records"])
    return records
