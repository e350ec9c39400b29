"""Which calls a previous run left open are over at a resync (tvoxcc.voice.left_open): pure."""

from __future__ import annotations

from tvoxcc.interactions import Outcome
from tvoxcc.voice.left_open import Ending, OpenCall, left_open, node_of


def call(channel_id: str, *, answered: bool = False, interaction_id: int = 1) -> OpenCall:
    return OpenCall(tenant_id=7, interaction_id=interaction_id, channel_id=channel_id, answered=answered)


def test_one_asterisk_closes_what_is_neither_live_nor_held() -> None:
    talked, hung_up = call("1700.1", answered=True), call("1700.2")
    live, held = call("1700.3"), call("1700.4")
    endings = left_open([talked, hung_up, live, held], live={"1700.3", "9.9"}, held={"1700.4"})
    assert endings == [Ending(talked, Outcome.ANSWERED), Ending(hung_up, Outcome.INTERRUPTED)]


def test_nothing_open_nothing_closed() -> None:
    assert left_open([], live=set(), held=set()) == []
    assert left_open([call("1700.1")], live={"1700.1"}, held=set()) == []


def test_a_node_judges_its_own_calls_only() -> None:
    nodes = ("ast", "ast-1", "bst")
    mine, theirs, longer = call("ast-1700.1"), call("bst-1700.2"), call("ast-1-1700.3")
    plain = call("1700.4")  # no node's prefix (a single-Asterisk era's): no node speaks for it
    calls = [mine, theirs, longer, plain]
    assert left_open(calls, live=set(), held=set(), node="ast", nodes=nodes) == [Ending(mine, Outcome.INTERRUPTED)]
    assert left_open(calls, live=set(), held=set(), node="ast-1", nodes=nodes) == [Ending(longer, Outcome.INTERRUPTED)]
    assert left_open(calls, live={"bst-1700.2"}, held=set(), node="bst", nodes=nodes) == []


def test_a_listing_of_every_node_at_once_judges_nothing() -> None:
    # Nodes down are not listed: their calls would look gone.
    assert left_open([call("ast-1700.1")], live=set(), held=set(), node=None, nodes=("ast", "bst")) == []


def test_node_of_takes_the_longest_name() -> None:
    assert node_of("ast-1-1700.3", ("ast", "ast-1")) == "ast-1"
    assert node_of("ast-1700.3", ("ast", "ast-1")) == "ast"
    assert node_of("1700.3", ("ast",)) is None
    assert node_of("astx-1700.3", ("ast",)) is None
