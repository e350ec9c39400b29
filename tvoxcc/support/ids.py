"""Message-IDs for the mails we send: unique, and in the domain of the mailbox that sends them."""

from __future__ import annotations

import uuid


def new_message_id(from_address: str) -> str:
    domain = from_address.rpartition("@")[2] or "tvoxcc.invalid"
    return f"<{uuid.uuid4().hex}.tvoxcc@{domain}>"
