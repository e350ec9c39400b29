"""A blocking IMAP session (imapclient) for one folder; the async ingester runs it in a worker thread."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from typing import Any

from imapclient import IMAPClient

from tvoxcc.config import MailAccount
from tvoxcc.mail.tls import client_context, refused


def mailbox_key(account: MailAccount) -> str:
    """How a folder is named in the store and the logs (never with the password)."""
    return f"{account.imap_user}@{account.imap_host}:{account.imap_port}/{account.folder}"


class ImapFolder:
    def __init__(
        self, account: MailAccount, *, timeout: float = 30.0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.account = account
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.client: IMAPClient | None = None
        self.supports_idle = False

    def open(self) -> int:
        """Connect, log in and select the folder read-only (we never change flags); returns UIDVALIDITY."""
        a = self.account
        context = self.ssl_context
        if context is None and a.imap_tls != "none":
            context = client_context(a.imap_cafile)
        try:
            client = IMAPClient(
                a.imap_host, port=a.imap_port, ssl=a.imap_tls == "ssl", ssl_context=context, timeout=self.timeout
            )
            self.client = client
            if a.imap_tls == "starttls":
                client.starttls(context)
        except ssl.SSLCertVerificationError as exc:
            raise refused(f"IMAP {mailbox_key(a)}", exc, a.imap_cafile) from exc
        client.login(a.imap_user, a.imap_password.get_secret_value())
        self.supports_idle = client.has_capability("IDLE")
        selected = client.select_folder(a.folder, readonly=True)
        return int(selected[b"UIDVALIDITY"])

    def _client(self) -> IMAPClient:
        if self.client is None:
            raise ConnectionError("IMAP folder not open")
        return self.client

    def uids_after(self, last_uid: int) -> list[int]:
        # "N:*" always matches the newest message even when its UID is below N: filter.
        found = self._client().search(["UID", f"{last_uid + 1}:*"])
        return sorted(int(u) for u in found if int(u) > last_uid)

    def fetch(self, uids: list[int]) -> dict[int, bytes]:
        """The raw mails; BODY.PEEK leaves \\Seen alone, so a person reading the box sees them as new."""
        data: dict[int, dict[bytes, Any]] = self._client().fetch(uids, ["BODY.PEEK[]"])
        return {int(uid): bytes(parts[b"BODY[]"]) for uid, parts in data.items() if b"BODY[]" in parts}

    def wait_for_news(self, timeout: float, stop: threading.Event) -> None:
        """Return when the server reports a change (IDLE), after ``timeout`` (polling), or soon after ``stop``."""
        client = self._client()
        deadline = time.monotonic() + timeout
        if not self.supports_idle:
            while not stop.is_set() and time.monotonic() < deadline:
                stop.wait(min(0.5, max(0.0, deadline - time.monotonic())))
            client.noop()
            return
        client.idle()
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                if client.idle_check(timeout=0.5):
                    return
        finally:
            client.idle_done()

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # the connection may already be gone; drop the socket either way
            with contextlib.suppress(Exception):
                client.shutdown()
