"""Mails that must never open a ticket nor get a reply: auto-replies, bulk, bounces (mail loops start there)."""

from __future__ import annotations

from collections.abc import Callable

_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_BOUNCE_SENDERS = ("mailer-daemon", "postmaster")


def noise_reason(header: Callable[[str], object], content_type: str, sender: str) -> str | None:
    """Why this mail is machine-sent noise (one short phrase), or None for a mail a person wrote.

    ``header`` gives a header's first value (or None), ``content_type`` the mail's top-level type.
    """
    auto_submitted = str(header("Auto-Submitted") or "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"auto-submitted: {auto_submitted[:40]}"
    precedence = str(header("Precedence") or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"precedence: {precedence}"
    # Not X-Auto-Response-Suppress: Outlook puts it on mails people write, too.
    for name in ("X-Autoreply", "X-Autorespond"):
        if str(header(name) or "").strip():
            return f"{name.lower()} header"
    if content_type == "multipart/report":
        return "bounce: multipart/report"
    local_part = sender.split("@", 1)[0].lower()
    if local_part.startswith(_BOUNCE_SENDERS):
        return f"bounce: sender {local_part}"
    if str(header("Return-Path") or "").strip() == "<>":
        return "bounce: null return path"
    return None
