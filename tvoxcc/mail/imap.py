"""A blocking IMAP session (imapclient) for one folder; the async ingester runs it in a worker thread."""

from __future__ import annotations

import contextlib
import re
import ssl
import threading
import time
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from tvoxcc.config import MailAccount
from tvoxcc.mail.tls import client_context, refused

_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def bodies_by_uid(data: list[Any]) -> dict[int, bytes]:
    """The BODY[] literals of imaplib's FETCH answer, by UID.

    imaplib gives ``(b'3 (UID 7 BODY[] {577}', literal)`` then the rest of the line (``b')'``, or
    ``b' UID 7)'`` when the server names the UID after the body); other items are unsolicited FETCH
    answers (flag changes) and are skipped.
    """
    found: dict[int, bytes] = {}
    for index, item in enumerate(data):
        if not isinstance(item, tuple) or b"BODY[]" not in item[0]:
            continue
        uid = _UID.search(item[0])
        if uid is None and index + 1 < len(data) and isinstance(data[index + 1], bytes):
            uid = _UID.search(data[index + 1])
        if uid is not None:
            found[int(uid[1])] = bytes(item[1])
    return found


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

    def sizes_after(self, last_uid: int) -> dict[int, int]:
        """The size in bytes of every mail after ``last_uid``, by UID (one round trip, no body read)."""
        typ, data = self._client()._imap.uid("FETCH", f"{last_uid + 1}:*", "(UID RFC822.SIZE)")
        if typ != "OK":
            raise IMAPClientError(f"UID FETCH sizes failed: {typ} {data!r:.200}")
        found: dict[int, int] = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            if not isinstance(line, bytes):
                continue  # imaplib's None for an empty answer
            uid, size = _UID.search(line), _SIZE.search(line)
            # "N:*" always matches the newest message even when its UID is below N: filter.
            if uid is not None and size is not None and int(uid[1]) > last_uid:
                found[int(uid[1])] = int(size[1])
        return dict(sorted(found.items()))

    def fetch(self, uids: list[int]) -> dict[int, bytes]:
        """The raw mails; BODY.PEEK leaves \\Seen alone, so a person reading the box sees them as new.

        Sent through imapclient's imaplib connection and read here: the body literals need no more
        than their UID, and imapclient's general FETCH response parser costs ~40 % of the whole read.
        """
        if not uids:
            return {}
        typ, data = self._client()._imap.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
        if typ != "OK":
            raise IMAPClientError(f"UID FETCH failed: {typ} {data!r:.200}")
        return bodies_by_uid(data)

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
