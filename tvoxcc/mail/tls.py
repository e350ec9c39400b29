"""TLS for IMAP and SMTP clients: always verified (hostname and chain), against a given CA file or the system's."""

from __future__ import annotations

import ssl
from pathlib import Path


class MailTlsError(ConnectionError):
    """A mail server's TLS certificate was refused; the message is one line and names no secret."""


def client_context(cafile: Path | None) -> ssl.SSLContext:
    """Certificate and hostname checked; ``cafile`` (PEM) trusts a private CA instead of the system store."""
    if cafile is not None and not Path(cafile).is_file():
        raise MailTlsError(f"CA file {cafile} not found")
    try:
        return ssl.create_default_context(cafile=str(cafile) if cafile is not None else None)
    except ssl.SSLError as exc:
        raise MailTlsError(f"CA file {cafile} unreadable: {exc.reason or exc}") from exc


def refused(what: str, exc: ssl.SSLCertVerificationError, cafile: Path | None) -> MailTlsError:
    """The clear error for a certificate that does not verify: who, why, and which trust it was checked against."""
    against = f"CA file {cafile}" if cafile is not None else "the system CAs"
    why = exc.verify_message or exc.reason or str(exc)
    return MailTlsError(f"{what}: TLS certificate refused ({why}), checked against {against}")
