"""A person's data as the members of an export zip: one JSON file per kind of row, and the files.

The rows are ``privacy_store.gather``'s; ``privacy_api.export_person`` writes the zip.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import LargeBinary, Table

from tvoxcc.journey.privacy_recordings import RecordingFiles
from tvoxcc.journey.privacy_store import PersonData


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def row_json(row: Any) -> dict[str, Any]:
    """Every column of a row but binary ones (an attachment's bytes are a file of the zip)."""
    table: Table = row.__table__
    return {c.key: _plain(getattr(row, c.key)) for c in table.columns if not isinstance(c.type, LargeBinary)}


def export_files(
    data: PersonData, recordings: list[Path], stored: RecordingFiles
) -> tuple[dict[str, bytes], dict[str, int]]:
    """The zip's members (one JSON file per kind of row, the attachments and the recordings as files: those
    Asterisk's folder holds, and the repository's ``stored``, decrypted), and how many of each there are."""
    files: dict[str, bytes] = {}
    tables = {name: [row_json(r) for r in rows] for name, rows in data.tables().items()}
    for row, attachment in zip(tables["attachments"], data.attachments, strict=True):
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", attachment.filename)[:100] or "attachment"
        row["file"] = f"attachments/{attachment.id}-{safe}"
        files[row["file"]] = attachment.data or b""
    for path in recordings:
        files[f"recordings/{path.name}"] = path.read_bytes()
    for row in tables["recordings"]:
        row["file"] = stored.member.get(row["id"])
        if row["id"] in stored.unreadable:
            row["unreadable"] = stored.unreadable[row["id"]]
    files |= stored.files
    for name, rows in tables.items():
        files[f"{name}.json"] = json.dumps(rows, indent=2, ensure_ascii=False, default=str).encode()
    counts = {name: len(rows) for name, rows in tables.items()}
    counts["recording_files"] = len(recordings) + len(stored.files)
    files["manifest.json"] = json.dumps({"counts": counts}, indent=2).encode()
    return files, counts
