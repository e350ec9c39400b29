"""The SMS core: a TextMessageReceived read into an Sms (who wrote, to which DID, where the reply goes), and
the thread rule (an open conversation of the number is joined, a closed one is not)."""

from __future__ import annotations

import pytest

from tvoxcc.chat.core import ChatStatus
from tvoxcc.chat.sms import ReplyRoute, SmsRefused, joins, read_message

VARS = {"PJSIP_RECVADDR": "10.0.0.7:5062", "PJSIP_TRANSPORT": "udp", "Max-Forwards": "70"}


def test_a_trunk_message_names_the_customer_the_did_and_the_way_back() -> None:
    sms = read_message("carrier", "<sip:+393331234567@10.0.0.7>", "pjsip:5551000@192.0.2.1", " Hi there \r\n", VARS)
    assert (sms.number, sms.did, sms.body, sms.endpoint) == ("+393331234567", "5551000", "Hi there", "carrier")
    assert sms.reply == ReplyRoute("pjsip:carrier/sip:+393331234567@10.0.0.7:5062", "sip:5551000@192.0.2.1")
    assert ReplyRoute.decode(sms.reply.encode()) == sms.reply
    assert ReplyRoute.decode("") is None


def test_p_asserted_identity_names_the_customer_when_the_from_user_names_the_trunk() -> None:
    variables = VARS | {"p-asserted-identity": "<sip:+3902123456@10.0.0.7>"}
    sms = read_message("caller", '"caller" <sip:caller@10.0.0.7>', "pjsip:5551000@192.0.2.1:5060", "yo", variables)
    assert sms.number == "+3902123456"
    assert sms.reply.sender == "sip:5551000@192.0.2.1:5060"


@pytest.mark.parametrize(
    ("sender", "to", "body", "variables", "reason"),
    [
        ("<sip:caller@h>", "pjsip:5551000@h", "x", VARS, "sender 'caller' is not a phone number"),
        ("<sip:+391234@h>", "pjsip:sales@h", "x", VARS, "recipient 'sales' is not a number of ours"),
        ("<sip:+391234@h>", "pjsip:5551000@h", "  ", VARS, "an empty message"),
        ("<sip:+391234@h>", "pjsip:5551000@h", "x", {}, "source address '' cannot be replied to"),
        ("<sip:+391234@h>", "pjsip:5551000@h", "x", {"PJSIP_RECVADDR": "a b"}, "cannot be replied to"),
        ("<sip:+391234@h>", "pjsip:5551000", "x", VARS, "recipient host '' is not an address"),
    ],
)
def test_a_message_that_cannot_be_answered_is_refused_with_its_reason(
    sender: str, to: str, body: str, variables: dict[str, str], reason: str
) -> None:
    with pytest.raises(SmsRefused, match=reason.replace("(", r"\(")):
        read_message("carrier", sender, to, body, variables)


def test_an_endpoint_name_that_cannot_be_a_destination_is_refused() -> None:
    with pytest.raises(SmsRefused, match="not a trunk name"):
        read_message("bad/name", "<sip:+391234@h>", "pjsip:5551000@h", "x", VARS)


def test_a_text_joins_the_numbers_open_conversation_and_starts_one_after_close() -> None:
    assert not joins(None)
    assert not joins(ChatStatus.CLOSED)
    assert all(joins(s) for s in (ChatStatus.OPEN, ChatStatus.QUEUED, ChatStatus.OFFERED, ChatStatus.CONNECTED))


def test_behind_kamailio_the_reply_goes_to_the_source_kamailio_names_and_only_kamailio_may_name_it() -> None:
    named = VARS | {"X-Tvoxcc-Source": "10.0.0.9:5070"}
    relayed = named | {"PJSIP_RECVADDR": "10.1.0.1:5060"}  # the node sees Kamailio's address
    via_kamailio = read_message("caller", "<sip:+391234@h>", "pjsip:5551000@h", "x", relayed, proxy_host="10.1.0.1")
    assert via_kamailio.source == "10.0.0.9:5070"
    # Straight from the trunk (not through Kamailio), or with no Kamailio in front: the header counts for nothing.
    for proxy in ("10.1.0.1", None):
        assert read_message("caller", "<sip:+391234@h>", "pjsip:5551000@h", "x", named, proxy_host=proxy).source == (
            "10.0.0.7:5062"
        )
    with pytest.raises(SmsRefused, match="source address '' cannot be replied to"):
        read_message("caller", "<sip:+391234@h>", "pjsip:5551000@h", "x", VARS | {"PJSIP_RECVADDR": "10.1.0.1:5060"},
                     proxy_host="10.1.0.1")  # fmt: skip
