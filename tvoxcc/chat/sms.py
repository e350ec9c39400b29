"""SMS as chats, pure: an SIP MESSAGE from a trunk read into an ``Sms``, its thread, and where a reply goes.

An SMS conversation is a chat (tvoxcc.chat.core) whose channel is ``sms``: one per customer number per
service while it is open. ``thread`` decides whether a new message joins the open conversation of its
number or starts one. Asterisk hands the voice service a ``TextMessageReceived`` (res_pjsip_messaging →
res_stasis messaging) with the From/To URIs and every SIP header as a variable; the reply goes back out
through the same endpoint to the address the message came from (ARI ``sendMessage``), written here as a
``ReplyRoute``. No I/O: the store side is tvoxcc.chat.sms_store, the ARI side tvoxcc.voice.sms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from tvoxcc.chat.core import ChatStatus

NOTIFY_CHANNEL = "tvoxcc_sms"  # NOTIFY'd on PostgreSQL when an SMS reply waits to be sent


class Delivery(StrEnum):
    """An agent's reply in an SMS chat, on its way to the customer's phone."""

    PENDING = "pending"  # stored by the desktop; the voice service has not taken it yet
    SENDING = "sending"  # taken by one voice service (the claim that makes it sent once)
    SENT = "sent"  # Asterisk accepted it for the trunk
    FAILED = "failed"  # Asterisk refused it (the reason is in the chat as a system message)


class SmsRefused(ValueError):
    """A MESSAGE that cannot become an SMS chat message (one line saying why)."""


_NUMBER = re.compile(r"^\+?[0-9]{2,20}$")
SOURCE_HEADER = "X-Tvoxcc-Source"  # set by Kamailio on a text it dispatches to a node: the sender's host:port
_HOSTPORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(:[0-9]{1,5})?$")
_ENDPOINT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
_URI_USER = re.compile(r"<?(?:sips?|pjsip|tel):([^@;>]+)")
_URI_HOST = re.compile(r"<?(?:sips?|pjsip):[^@;>]*@([^;>]+)")


@dataclass(frozen=True, slots=True)
class Sms:
    """One text message from a customer, as the center reads it."""

    number: str  # the customer's number: the P-Asserted-Identity user, else the From user
    did: str  # the number they wrote to (the To user): it selects tenant and service, as a DID does for calls
    body: str
    endpoint: str  # the PJSIP endpoint (trunk) it came through
    source: str  # host:port it came from (PJSIP_RECVADDR): where the reply goes
    our_host: str  # the host part of the To URI: the reply's From is the DID at it

    @property
    def reply(self) -> ReplyRoute:
        """Back through the same trunk endpoint to where the text came from, from the DID it was sent to."""
        return ReplyRoute(f"pjsip:{self.endpoint}/sip:{self.number}@{self.source}", f"sip:{self.did}@{self.our_host}")


@dataclass(frozen=True, slots=True)
class ReplyRoute:
    """An ARI ``sendMessage``'s ``to`` (through the trunk endpoint to the customer) and ``from`` (our DID)."""

    to: str
    sender: str

    def encode(self) -> str:
        return f"{self.to} {self.sender}"  # neither has a space (checked when read)

    @classmethod
    def decode(cls, text: str) -> ReplyRoute | None:
        to, _, sender = text.partition(" ")
        return cls(to, sender) if to and sender else None


def _user(uri: str) -> str:
    found = _URI_USER.search(uri)
    return found.group(1).strip() if found else ""


def _variable(variables: Mapping[str, str], name: str) -> str:
    """A SIP header's value from the message's variables (header names are case-insensitive)."""
    for key, value in variables.items():
        if key.lower() == name.lower():
            return value
    return ""


def read_message(
    endpoint: str, sender: str, to: str, body: str, variables: Mapping[str, str], *, proxy_host: str | None = None
) -> Sms:
    """The ``Sms`` of a ``TextMessageReceived``; SmsRefused when a part is missing or malformed. ``proxy_host``:
    Kamailio's address when the nodes sit behind it (only a text received from it may name its source)."""
    asserted = _user(_variable(variables, "P-Asserted-Identity"))
    number = asserted or _user(sender)
    did = _user(to)
    source = _variable(variables, "PJSIP_RECVADDR")
    if proxy_host and source.rsplit(":", 1)[0] == proxy_host:
        # Behind Kamailio a text comes from Kamailio, which names the trunk's own address (configs/kamailio).
        source = _variable(variables, SOURCE_HEADER)
    found = _URI_HOST.search(to)
    our_host = found.group(1).strip() if found else ""
    if not _ENDPOINT.fullmatch(endpoint):
        raise SmsRefused(f"endpoint {endpoint!r} is not a trunk name")
    if not _NUMBER.fullmatch(number):
        raise SmsRefused(f"sender {number!r} is not a phone number")
    if not _NUMBER.fullmatch(did):
        raise SmsRefused(f"recipient {did!r} is not a number of ours")
    if not _HOSTPORT.fullmatch(source):
        raise SmsRefused(f"source address {source!r} cannot be replied to")
    if not _HOSTPORT.fullmatch(our_host):
        raise SmsRefused(f"recipient host {our_host!r} is not an address")
    text = body.strip()
    if not text:
        raise SmsRefused("an empty message")
    return Sms(number, did, text, endpoint, source, our_host)


def joins(open_status: ChatStatus | None) -> bool:
    """Whether a new message joins the number's latest conversation with the service (its status, None when it
    has none): while that conversation is not closed it joins it, after it is closed a new one starts."""
    return open_status is not None and open_status is not ChatStatus.CLOSED
