"""A chat's states and moves, its item ids and the visitor's limits (tvoxcc.chat.core), pure."""

from __future__ import annotations

import pytest

from tvoxcc.chat.core import (
    MAX_BODY,
    ChatError,
    ChatEvent,
    ChatStatus,
    RateLimit,
    chat_item,
    chat_of_item,
    clean_body,
    move,
)


def test_the_life_of_a_chat() -> None:
    status = move(ChatStatus.OPEN, ChatEvent.SUBMIT)
    for event, expected in [
        (ChatEvent.OFFER, ChatStatus.OFFERED),
        (ChatEvent.CANCEL, ChatStatus.QUEUED),  # ring-no-answer or declined
        (ChatEvent.OFFER, ChatStatus.OFFERED),
        (ChatEvent.ACCEPT, ChatStatus.CONNECTED),
        (ChatEvent.TRANSFER, ChatStatus.QUEUED),
        (ChatEvent.CLOSE, ChatStatus.CLOSED),
    ]:
        status = move(status, event)
        assert status is expected


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (ChatStatus.QUEUED, ChatEvent.ACCEPT),  # nothing offered
        (ChatStatus.CLOSED, ChatEvent.ACCEPT),
        (ChatStatus.CLOSED, ChatEvent.CLOSE),
        (ChatStatus.OFFERED, ChatEvent.TRANSFER),  # only a connected agent transfers
        (ChatStatus.CONNECTED, ChatEvent.OFFER),
    ],
)
def test_moves_the_state_does_not_allow_are_refused(status: ChatStatus, event: ChatEvent) -> None:
    with pytest.raises(ChatError, match=f"a chat {status} cannot be"):
        move(status, event)


def test_item_ids_name_tenant_chat_and_leg() -> None:
    assert chat_item(7, 42, 1) == "chat-7-42-1"
    assert chat_of_item("chat-7-42-1") == (7, 42, 1)
    assert chat_of_item("ticket-7-1042") is None and chat_of_item("chat-7-x-1") is None


def test_message_bodies_are_trimmed_and_bounded() -> None:
    assert clean_body("  hi \n") == "hi"
    for bad in ("", "   ", 42, "x" * (MAX_BODY + 1)):
        with pytest.raises(ChatError):
            clean_body(bad)


def test_rate_limit_allows_a_burst_then_the_rate() -> None:
    limit = RateLimit(per_s=1.0, burst=3)
    assert [limit.allow("v", 0.0) for _ in range(4)] == [True, True, True, False]
    assert limit.allow("other", 0.0)  # per key
    assert not limit.allow("v", 0.5) and limit.allow("v", 1.6)
