"""Asterisk-compatible queue_log lines: ``epoch|callid|queuename|agent|EVENT|data1|data2|data3``.

Field formats follow app_queue.c / app_agent_pool.c so existing queue_log reports read them:
ENTERQUEUE(url|callerid|position), CONNECT(holdtime|bridgedchanneluniqueid|ringtime),
COMPLETECALLER/COMPLETEAGENT(holdtime|calltime|origposition), ABANDON, EXITWITHTIMEOUT and
EXITEMPTY(position|origposition|waittime), RINGNOANSWER(ringtime in ms), PAUSE/UNPAUSE(reason),
ADDMEMBER/REMOVEMEMBER(""), AGENTLOGIN(channel), AGENTLOGOFF(channel|logintime). Times are whole seconds.
"""

from __future__ import annotations

NONE = "NONE"


def line(at: float, callid: str, queue: str, agent: str, event: str, *data: object) -> str:
    return "|".join((str(int(at)), callid, queue, agent, event, *(str(d) for d in data)))


def enter_queue(at: float, callid: str, queue: str, caller_id: str, position: int) -> str:
    return line(at, callid, queue, NONE, "ENTERQUEUE", "", caller_id, position)


def connect(at: float, callid: str, queue: str, agent: str, hold_s: float, bridged: str, ring_s: float) -> str:
    return line(at, callid, queue, agent, "CONNECT", int(hold_s), bridged, int(ring_s))


def complete(
    at: float, callid: str, queue: str, agent: str, by_caller: bool, hold_s: float, talk_s: float, orig_pos: int
) -> str:
    event = "COMPLETECALLER" if by_caller else "COMPLETEAGENT"
    return line(at, callid, queue, agent, event, int(hold_s), int(talk_s), orig_pos)


def left_queue(at: float, callid: str, queue: str, event: str, position: int, orig_pos: int, wait_s: float) -> str:
    """ABANDON, EXITWITHTIMEOUT or EXITEMPTY: the caller left without being connected."""
    return line(at, callid, queue, NONE, event, position, orig_pos, int(wait_s))


def ring_no_answer(at: float, callid: str, queue: str, agent: str, ring_s: float) -> str:
    return line(at, callid, queue, agent, "RINGNOANSWER", int(ring_s * 1000))


def pause(at: float, queue: str, agent: str, paused: bool, reason: str) -> str:
    return line(at, NONE, queue, agent, "PAUSE" if paused else "UNPAUSE", reason)


def member(at: float, queue: str, agent: str, added: bool) -> str:
    return line(at, NONE, queue, agent, "ADDMEMBER" if added else "REMOVEMEMBER", "")


def agent_login(at: float, agent: str, interface: str) -> str:
    return line(at, NONE, NONE, agent, "AGENTLOGIN", interface)


def agent_logoff(at: float, agent: str, interface: str, login_s: float) -> str:
    return line(at, NONE, NONE, agent, "AGENTLOGOFF", interface, int(login_s))
