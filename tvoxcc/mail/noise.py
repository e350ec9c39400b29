"""Mails that must never open a ticket nor get a reply: auto-replies, bulk, bounces (mail loops start there)."""

from __future__ import annotations

from email.message import Message

_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_BOUNCE_SENDERS = ("mailer-daemon", "postmaster")


def noise_reason(msg: Message, sender: str) -> str | None:
    """Why this mail is machine-sent noise (one short phrase), or None for a mail a person wrote."""
    auto_submitted = str(msg.get("Auto-Submitted", "") or "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"auto-submitted: {auto_submitted[:40]}"
    precedence = str(msg.get("Precedence", "") or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"precedence: {precedence}"
    # Not X-Auto-Response-Suppress: Outlook puts it on mails people write, too.
    for header in ("X-Autoreply", "X-Autorespond"):
        if str(msg.get(header, "") or "").strip():
            return f"{header.lower()} header"
    if msg.get_content_type() == "multipart/report":
        return "bounce: multipart/report"
    local_part = sender.split("@", 1)[0].lower()
    if local_part.startswith(_BOUNCE_SENDERS):
        return f"bounce: sender {local_part}"
    if str(msg.get("Return-Path", "") or "").strip() == "<>":
        return "bounce: null return path"
    return None
