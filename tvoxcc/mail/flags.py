"""What happened to a mail on its way in: recorded on its ticket message, shown by `support show`."""

from __future__ import annotations

from enum import StrEnum


class MessageFlag(StrEnum):
    ATTACHMENT_TOO_LARGE = "attachment-too-large"  # over the size limit: name and size kept, bytes not stored
    ATTACHMENT_BLOCKED = "attachment-blocked"  # an executable (by name, type or content): bytes not stored
    BODY_TRUNCATED = "body-truncated"  # the text was longer than a message keeps
    MIME_TOO_DEEP = "mime-too-deep"  # parts nested deeper than the limit were not read
    BODY_UNREADABLE = "body-unreadable"  # a MIME structure the parser could not walk
    CHARSET_FALLBACK = "charset-fallback"  # the bytes did not fit the declared charset: the text is a best guess
    LOOP = "loop"  # it carries our own X-Loop: stored, never acknowledged, never reopens a ticket


def flag_list(flags: frozenset[MessageFlag]) -> list[str]:
    """The flags as stored: sorted, so the same mail always gives the same row."""
    return sorted(str(f) for f in flags)
