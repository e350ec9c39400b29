"""The IVR core: validation names the node; the interpreter walks every kind of node, exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from tvoxcc.ivr import commands as c
from tvoxcc.ivr.checks import check_flow
from tvoxcc.ivr.events import CallerHungUp, Dtmf, IvrEvent, PlaybackDone, RecordingDone, TimerFired
from tvoxcc.ivr.interpreter import CallerInfo, IvrState, handle, start
from tvoxcc.ivr.nodes import Flow

FLOW = """
service: sales
start: hours
nodes:
  hours:
    type: time
    hours: {mon: ["09:00-18:00"], tue: ["09:00-13:00", "14:00-18:00"], wed: ["09:00-18:00"],
            thu: ["09:00-18:00"], fri: ["09:00-17:00"]}
    holidays: ["12-25", "2026-04-06"]
    open: welcome
    closed: closed-msg
    holiday: holiday-msg
  closed-msg: {type: hangup, prompts: ["closed"]}
  holiday-msg: {type: voicemail, prompts: ["holiday"], max_seconds: 60}
  welcome: {type: play, prompts: ["welcome"], next: lang}
  lang: {type: language, prompts: ["choose-language"], options: {"1": it, "2": en}, next: vipcheck}
  vipcheck: {type: branch, field: vip, then: vip, else: main}
  vip: {type: set, priority: 50, skills: {gold: 5}, next: main}
  main:
    type: menu
    prompts: ["main-menu"]
    options: {"1": sales, "2": code, "3": leave-message, "4": call-me, "0": operator, "9": bye}
    timeout_seconds: 4
    retries: 2
    on_fail: bye
  code:
    type: collect
    prompts: ["enter-code"]
    variable: customer
    min_digits: 4
    max_digits: 6
    pattern: "[1-9][0-9]*"
    next: known-customer
    on_fail: bye
  known-customer: {type: set, variables: {path: coded}, next: sales}
  sales: {type: queue, queue: sales-it}
  leave-message: {type: voicemail, max_seconds: 90}
  call-me: {type: callback, queue: sales-it}
  operator: {type: transfer, destination: "200"}
  bye: {type: hangup, prompts: ["goodbye"]}
"""

MONDAY_10 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Rome
MONDAY_20 = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
TUESDAY_LUNCH = datetime(2026, 3, 3, 12, 30, tzinfo=UTC)  # 13:30 in Rome
EASTER_MONDAY = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)
CHRISTMAS = datetime(2027, 12, 25, 10, 0, tzinfo=UTC)


def flow(text: str = FLOW) -> Flow:
    return Flow.model_validate(yaml.safe_load(text))


class Call:
    """Drives one call through the interpreter, answering playbacks the way the adapter would."""

    def __init__(self, f: Flow, now: datetime = MONDAY_10, **info: Any) -> None:
        self.flow, self.now = f, now
        self.info = CallerInfo(caller="+390211111111", timezone="Europe/Rome", language="it", **info)
        self.state, self.commands = start(f, self.info, now)

    def send(self, event: IvrEvent) -> list[c.Command]:
        self.state, out = handle(self.flow, self.info, self.state, event, self.now)
        self.commands += out
        return out

    def finish_prompt(self) -> list[c.Command]:
        assert self.state.playback, f"no prompt playing at {self.state.node}"
        return self.send(PlaybackDone(self.state.playback))

    def fire_timer(self) -> list[c.Command]:
        assert self.state.timer, f"no timer at {self.state.node}"
        return self.send(TimerFired(self.state.timer))

    def press(self, digits: str) -> None:
        for digit in digits:
            self.send(Dtmf(digit))

    def plays(self) -> list[tuple[str, ...]]:
        return [cmd.prompts for cmd in self.commands if isinstance(cmd, c.Play)]

    def last(self, kind: type[Any]) -> Any:
        return [cmd for cmd in self.commands if isinstance(cmd, kind)][-1]

    def to_main_menu(self) -> None:
        self.finish_prompt()  # welcome
        self.press("2")  # English
        assert self.state.node == "main"


def test_the_sample_flow_is_valid() -> None:
    assert check_flow(flow(), queues={"sales-it"}) == []


def test_open_hours_walk_to_the_queue_with_language_and_priority() -> None:
    call = Call(flow(), vip=True)
    assert isinstance(call.commands[0], c.Answer)
    call.to_main_menu()
    call.finish_prompt()
    call.press("1")
    entered = call.last(c.EnterQueue)
    assert entered == c.EnterQueue("sales-it", 50, (("gold", 5),), (), "en")
    assert call.state.outcome == "queue"
    assert call.state.path == ("hours", "welcome", "lang", "vipcheck", "vip", "main", "sales")
    assert call.plays() == [("welcome",), ("choose-language",), ("main-menu",)]


def test_digit_during_a_prompt_interrupts_it() -> None:
    call = Call(flow())
    call.to_main_menu()
    playing = call.state.playback
    out = call.send(Dtmf("0"))
    assert c.StopPlayback(playing) in out  # type: ignore[arg-type]
    assert call.last(c.TransferTo) == c.TransferTo("200")


@pytest.mark.parametrize(
    ("now", "node", "first_prompt"),
    [
        (MONDAY_20, "closed-msg", "closed"),
        (TUESDAY_LUNCH, "closed-msg", "closed"),
        (EASTER_MONDAY, "holiday-msg", "holiday"),
        (CHRISTMAS, "holiday-msg", "holiday"),
        (MONDAY_10, "welcome", "welcome"),
    ],
)
def test_time_condition_uses_the_tenant_clock(now: datetime, node: str, first_prompt: str) -> None:
    call = Call(flow(), now=now)
    assert call.state.node == node
    assert call.plays()[0] == (first_prompt,)


def test_invalid_and_missing_input_retry_then_take_the_final_action() -> None:
    call = Call(flow())
    call.to_main_menu()
    call.finish_prompt()
    call.press("7")  # invalid: attempt 1
    assert call.plays()[-1] == ("sound:option-is-invalid", "main-menu")
    call.finish_prompt()
    call.fire_timer()  # nothing pressed: attempt 2
    assert call.plays()[-1] == ("main-menu",)
    assert call.state.attempts == 2
    call.finish_prompt()
    call.fire_timer()  # attempt 3 > retries: on_fail
    assert call.state.node == "bye"
    call.finish_prompt()
    assert isinstance(call.commands[-2], c.HangupCall)
    assert call.state.outcome == "hangup"


def test_collect_digits_with_terminator_validation_and_variables() -> None:
    call = Call(flow())
    call.to_main_menu()
    call.press("2")
    assert call.state.node == "code"
    call.finish_prompt()
    call.press("0123#")  # fails the pattern (leading 0)
    assert call.state.node == "code" and call.state.attempts == 1
    call.finish_prompt()
    call.press("12#")  # too short
    assert call.state.attempts == 2
    call.finish_prompt()
    call.press("4711")
    call.fire_timer()  # inter-digit timeout with enough digits: accepted
    entered = call.last(c.EnterQueue)
    assert dict(entered.variables) == {"customer": "4711", "path": "coded"}


def test_collect_stops_at_max_digits() -> None:
    call = Call(flow())
    call.to_main_menu()
    call.press("2")
    call.press("123456")
    assert dict(call.last(c.EnterQueue).variables)["customer"] == "123456"


def test_voicemail_becomes_a_ticket_request() -> None:
    call = Call(flow())
    call.to_main_menu()
    call.press("3")
    call.finish_prompt()  # sound:vm-intro
    record = call.last(c.Record)
    assert record.max_seconds == 90
    call.send(Dtmf("5"))  # digits while recording are not input
    call.send(RecordingDone(record.name, 12.5))
    assert call.last(c.VoicemailTicket) == c.VoicemailTicket(record.name, 12.5, "+390211111111")
    assert call.state.outcome == "voicemail"


def test_callback_request_uses_the_caller_number() -> None:
    call = Call(flow())
    call.to_main_menu()
    call.press("4")
    call.finish_prompt()
    assert call.last(c.CallbackRequest) == c.CallbackRequest("sales-it", "+390211111111")
    assert isinstance(call.commands[-2], c.HangupCall)


def test_language_timeout_keeps_the_default_and_branches_on_known_callers() -> None:
    text = FLOW.replace("field: vip, then: vip", "field: known, then: vip")
    call = Call(flow(text), known=True)
    call.finish_prompt()  # welcome
    call.finish_prompt()  # choose-language
    call.fire_timer()
    assert call.state.language == "it" and call.state.node == "main" and call.state.priority == 50


def test_stale_events_and_events_after_the_end_are_ignored() -> None:
    call = Call(flow())
    old = call.state.playback
    call.finish_prompt()
    before = call.state
    assert call.send(PlaybackDone(old or "")) == []
    assert call.send(TimerFired("t999")) == []
    assert call.state == before
    call.send(CallerHungUp())
    assert call.state.outcome == "caller-hangup"
    assert call.send(Dtmf("1")) == []


def _problems(text: str, **kwargs: Any) -> list[str]:
    return check_flow(flow(text), **kwargs)


def test_validation_names_the_node() -> None:
    dangling = FLOW.replace("next: known-customer", "next: nowhere")
    assert _problems(dangling) == ["nodes.code.next: unknown node 'nowhere'"]
    unreachable = FLOW + "  orphan: {type: hangup}\n"
    assert _problems(unreachable) == ["nodes.orphan: unreachable from start 'hours'"]
    loop = FLOW.replace("known-customer: {type: set, variables: {path: coded}, next: sales}",
                        "known-customer: {type: set, variables: {path: coded}, next: again}\n"
                        "  again: {type: play, prompts: [x], next: known-customer}")  # fmt: skip
    problems = _problems(loop)
    assert len(problems) == 1 and "loop without caller input" in problems[0] and "known-customer" in problems[0]
    assert _problems(FLOW, queues={"other"}) == [
        "nodes.sales.queue: unknown queue 'sales-it'",
        "nodes.call-me.queue: unknown queue 'sales-it'",
    ]
    missing = _problems(FLOW, prompt_exists=lambda p: p.startswith("sound:") or p != "goodbye")
    assert missing == ["nodes.bye: missing prompt 'goodbye'"]
    assert _problems(FLOW.replace("start: hours", "start: nope")) == ["start: unknown node 'nope'"]


def test_menu_loops_back_through_input_are_fine() -> None:
    text = FLOW.replace('"9": bye}', '"9": bye, "8": welcome}')
    assert _problems(text) == []


def test_bad_values_are_refused_by_the_model() -> None:
    with pytest.raises(ValueError, match="09:00-18:00"):
        flow(FLOW.replace('mon: ["09:00-18:00"]', 'mon: ["18:00-09:00"]'))
    with pytest.raises(ValueError, match="regular expression"):
        flow(FLOW.replace('pattern: "[1-9][0-9]*"', 'pattern: "[1-9"'))
    with pytest.raises(ValueError):
        flow(FLOW.replace('"1": sales', '"12": sales'))


def test_state_is_plain_data() -> None:
    call = Call(flow())
    assert isinstance(call.state, IvrState)
    assert call.state == IvrState(**{k: getattr(call.state, k) for k in IvrState.__dataclass_fields__})
