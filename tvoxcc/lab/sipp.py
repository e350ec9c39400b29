"""SIP phones for e2e tests and the demo, played by sipp: callers (UAC with RFC2833 DTMF) and agents (REGISTER, answer).

sipp sends no audio of its own (only the DTMF pcaps), so Asterisk's Answer() waits ~500 ms for media:
leave a little time before expecting anything. Scenarios are XML templates in tvoxcc/lab/scenarios/,
filled in here and written to a temp dir.
"""

from __future__ import annotations

import collections
import os
import random
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Literal

from tvoxcc.lab.dtmf import renumbered

SCENARIOS = Path(__file__).parent / "scenarios"
SIPP = shutil.which("sipp")
PCAP_DIRS = (Path("/usr/share/sip-tester"), Path("/usr/share/sip-tester/pcap"))
PCAP_NAMES = {**{str(d): f"dtmf_2833_{d}" for d in range(10)}, "*": "dtmf_2833_star", "#": "dtmf_2833_pound"}


EPHEMERAL = (32768, 61000)
PORT_SLICE_ENV = "TVOXCC_PORT_SLICE"  # "INDEX/COUNT": this process's share of the range (parallel test workers)
_PORTS_PER_PHONE = 4  # sipp's SIP port, or its media port and the three above it (RTP, RTCP, video)
# Ports handed out lately are not handed out again: a phone keeps the port it registered from across sipp runs,
# unbound between them, and the kernel's own pick (bind to port 0) could give it to the next caller meanwhile.
_RECENT: collections.deque[int] = collections.deque(maxlen=2048)


def _port_slice() -> tuple[int, int]:
    low, high = EPHEMERAL
    index, _, count = os.environ.get(PORT_SLICE_ENV, "0/1").partition("/")
    size = (high - low) // max(int(count or 1), 1)
    return low + int(index) * size, low + (int(index) + 1) * size


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_udp_port() -> int:
    """A UDP port for a sipp phone, with the three above it free too, in this process's slice of the ephemeral
    range (two test workers never pick the same one) and not handed out lately (see _RECENT)."""
    low, high = _port_slice()
    for _ in range(1000):
        port = random.randrange(low, high - _PORTS_PER_PHONE, _PORTS_PER_PHONE)
        if port in _RECENT:
            continue
        if all(_bindable(p) for p in range(port, port + _PORTS_PER_PHONE)):
            _RECENT.append(port)
            return port
    raise OSError(f"no free UDP port in {low}-{high}")


def dtmf_pcap(digit: str) -> Path:
    name = PCAP_NAMES[digit]
    for directory in PCAP_DIRS:
        path = directory / f"{name}.pcap"
        if path.exists():
            return path
    raise FileNotFoundError(f"{name}.pcap not found (dpkg -L sip-tester)")


def _fill(name: str, **values: object) -> str:
    return Template((SCENARIOS / name).read_text()).substitute({k: str(v) for k, v in values.items()})


def _dtmf_block(digits: str, gap_ms: int) -> str:
    """RFC2833 digits, each followed by ``gap_ms``; a "." is a pause of ``gap_ms`` without a digit."""
    # Each pcap holds one RFC2833 event (~250 ms of packets); play_pcap_audio returns at once, so pause.
    # The pcaps are renumbered (tvoxcc/lab/dtmf.py) so that no digit is dropped as a late packet.
    lines = []
    folder = Path(tempfile.mkdtemp(prefix="tvoxcc-dtmf-"))
    for index, digit in enumerate(digits):
        if digit != ".":
            pcap = renumbered(dtmf_pcap(digit), folder / f"{index}.pcap", index)
            lines.append(f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>')
        lines.append(f'  <pause milliseconds="{gap_ms}"/>')
    return "\n".join(lines)


def media_block(tone: Path | None = None, digits: str = "", gap_ms: int = 400) -> str:
    """Scenario lines playing ``tone`` (a capture, tvoxcc.lab.tone) in the background, then ``digits`` (RFC2833,
    ``_dtmf_block``)."""
    lines = [f'  <nop><action><exec play_pcap_audio="{tone}"/></action></nop>'] if tone else []
    return "\n".join([*lines, _dtmf_block(digits, gap_ms)] if digits else lines)


def caller_scenario(
    number: str,
    digits: str = "",
    *,
    user: str = "caller",
    wait_ms: int = 1000,
    gap_ms: int = 400,
    hangup: Literal["us", "them"] = "us",
    bye_timeout_ms: int = 20000,
    hold_ms: int = 0,
    tone: Path | None = None,
) -> str:
    """A caller scenario; ``hold_ms`` is how long the caller stays on the line after the last digit, playing
    ``tone`` (a capture, tvoxcc.lab.tone) meanwhile when given."""
    ending = _fill(
        "caller_bye.xml" if hangup == "us" else "caller_wait_bye.xml", user=user, bye_timeout_ms=bye_timeout_ms
    )
    return _fill(
        "caller.xml",
        number=number,
        user=user,
        hangup=hangup,
        wait_ms=wait_ms,
        dtmf=_dtmf_block(digits, gap_ms)
        + (f"\n{media_block(tone)}" if tone else "")
        + (f'\n  <pause milliseconds="{hold_ms}"/>' if hold_ms else ""),
        ending=ending,
    )


@dataclass
class SippRun:
    """One sipp process; ``returncode`` 0 means every call of the scenario succeeded."""

    args: list[str]
    workdir: Path
    process: subprocess.Popen[str]
    output: str = ""
    returncode: int | None = None

    def wait(self, timeout: float = 60.0) -> SippRun:
        try:
            self.output, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.output, _ = self.process.communicate()
        self.returncode = self.process.returncode
        return self

    @property
    def errors(self) -> str:
        """sipp's error log and message trace, for assertion messages."""
        parts = [self.output[-3000:]]
        for path in sorted(self.workdir.glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    @property
    def trace(self) -> str:
        """Every SIP message sipp sent or received so far (its -trace_msg file)."""
        path = self.workdir / "messages.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def check(self) -> SippRun:
        assert self.returncode == 0, f"sipp {' '.join(self.args[-6:])} failed ({self.returncode}):\n{self.errors}"
        return self


@dataclass
class Sipp:
    """Runs sipp against one Asterisk (host:port); every run gets its own temp dir for scenario and logs."""

    sip_host: str
    sip_port: int
    runs: list[SippRun] = field(default_factory=list)
    local_ip: str = "127.0.0.1"  # the machine's address on a --topology lab's bridge reaches its hosts

    def start(
        self,
        scenario: str,
        *,
        local_port: int | None = None,
        service: str = "s",
        timeout_s: int = 60,
        calls: int = 1,
        rate_period_ms: int = 1000,
        rate: int | None = None,
        out_of_call: str | None = None,
    ) -> SippRun:
        """Run ``scenario`` ``calls`` times (one sipp process: no port races between processes): all at once, or
        ``rate`` new calls per rate period (a steady load). ``out_of_call``: the scenario for requests that
        belong to none of its calls (a MESSAGE sent to it)."""
        if SIPP is None:
            raise FileNotFoundError("sipp not installed (apt-get install sip-tester)")
        workdir = Path(tempfile.mkdtemp(prefix="tvoxcc-sipp-"))
        (workdir / "scenario.xml").write_text(scenario)
        extra = []
        if out_of_call is not None:
            (workdir / "out_of_call.xml").write_text(out_of_call)
            extra = ["-oocsf", str(workdir / "out_of_call.xml")]
        args = [
            SIPP,
            f"{self.sip_host}:{self.sip_port}",
            "-sf",
            str(workdir / "scenario.xml"),
            "-s",
            service,
            "-i",
            self.local_ip,
            "-mi",
            self.local_ip,
            "-mp",
            str(free_udp_port()),
            "-p",
            str(local_port or free_udp_port()),
            "-m",
            str(calls),
            "-l",
            str(calls),
            "-r",
            str(rate or max(calls, 1)),
            "-rp",  # sipp sits out the rest of its rate period before exiting
            str(rate_period_ms),
            "-nostdin",
            "-aa",  # answer OPTIONS/NOTIFY/INFO/UPDATE: Asterisk may qualify or notify
            "-timeout",
            f"{timeout_s}s",
            "-timeout_error",
            "-trace_err",
            "-error_file",
            str(workdir / "errors.log"),
            "-trace_msg",
            "-message_file",
            str(workdir / "messages.log"),
            *extra,
        ]
        process = subprocess.Popen(
            args, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        run = SippRun(args, workdir, process)
        self.runs.append(run)
        return run

    def call(
        self,
        number: str,
        digits: str = "",
        *,
        hangup: Literal["us", "them"] = "us",
        wait_ms: int = 1000,
        gap_ms: int = 400,
        bye_timeout_ms: int = 20000,
    ) -> SippRun:
        """Call ``number`` as the test caller, send ``digits``, hang up; blocks until sipp exits."""
        scenario = caller_scenario(
            number, digits, hangup=hangup, wait_ms=wait_ms, gap_ms=gap_ms, bye_timeout_ms=bye_timeout_ms
        )
        return self.start(scenario, service=number).wait()

    def register(
        self, user: str, password: str, *, port: int, expires: int = 300, rate_period_ms: int = 1000
    ) -> SippRun:
        """``rate_period_ms``: sipp exits only when that period ends; 10 saves ~1 s a run for hundreds of phones."""
        scenario = _fill("register.xml", user=user, password=password, expires=expires)
        return self.start(scenario, local_port=port, timeout_s=15, rate_period_ms=rate_period_ms).wait(30)

    def answer(
        self,
        user: str,
        *,
        port: int,
        ring_ms: int = 200,
        bye_timeout_ms: int = 30000,
        calls: int = 1,
        digits: str = "",
        gap_ms: int = 300,
        tone: Path | None = None,
        timeout_s: int | None = None,
    ) -> SippRun:
        """An agent phone waiting on ``port`` (the one it registered from); returns at once; ``timeout_s``: the
        whole run's limit (default: a minute and 10 s for each further call). With ``calls`` > 1
        it answers that many calls, side by side (every phone registered from ``port``: rewrite_contact).
        ``digits``: keyed once the call is up (RFC2833, ``gap_ms`` apart; "." waits ``gap_ms``); ``tone``: a
        capture (tvoxcc.lab.tone) played meanwhile, the agent's voice."""
        dtmf = media_block(tone, digits, gap_ms) if digits or tone else ""
        scenario = _fill("answer.xml", user=user, ring_ms=ring_ms, bye_timeout_ms=bye_timeout_ms, dtmf=dtmf)
        limit = timeout_s if timeout_s is not None else 60 + 10 * (calls - 1)
        return self.start(scenario, local_port=port, calls=calls, timeout_s=limit)

    def customer_answers(
        self, *, port: int, pcap: Path, ring_ms: int = 500, bye_timeout_ms: int = 30000, calls: int = 1
    ) -> SippRun:
        """A called party behind a trunk on ``port``: rings, answers, plays ``pcap`` (tvoxcc.lab.greeting);
        with ``calls`` > 1, that many calls, side by side."""
        scenario = _fill("customer.xml", ring_ms=ring_ms, pcap=pcap, bye_timeout_ms=bye_timeout_ms)
        return self.start(scenario, local_port=port, calls=calls, timeout_s=60 + 10 * (calls - 1))

    def customer_farm(self, *, port: int, person: Path, machine: Path, calls: int) -> SippRun:
        """Called parties behind a trunk on ``port``, each told by its number's last digit (customer_farm.xml):
        busy, never answering, a machine, a person; up to ``calls`` calls, side by side (kill it when done)."""
        scenario = _fill("customer_farm.xml", person_pcap=person, machine_pcap=machine)
        return self.start(scenario, local_port=port, calls=calls, timeout_s=7200)

    def customer_busy(self, *, port: int) -> SippRun:
        return self.start(_fill("customer_busy.xml"), local_port=port, timeout_s=30)

    def customer_no_answer(self, *, port: int, cancel_timeout_ms: int = 45000) -> SippRun:
        scenario = _fill("customer_no_answer.xml", cancel_timeout_ms=cancel_timeout_ms)
        return self.start(scenario, local_port=port, timeout_s=60)

    def dial(self, user: str, password: str, number: str, *, listen_ms: int = 15000, challenge: int = 401) -> SippRun:
        """An agent phone dials ``number`` (a feature code) with digest auth; blocks until sipp exits.
        ``challenge``: 401 from Asterisk, 407 from a proxy (Kamailio)."""
        return self.dial_playing(user, password, number, listen_ms=listen_ms, challenge=challenge).wait(40)

    def dial_playing(
        self, user: str, password: str, number: str, *, media: str = "", listen_ms: int = 15000, challenge: int = 401
    ) -> SippRun:
        """As ``dial``, playing ``media`` (``media_block``) once answered; returns at once."""
        scenario = _fill("agent_dial.xml", user=user, password=password, number=number, listen_ms=listen_ms,
                         media=media, challenge=challenge)  # fmt: skip
        return self.start(scenario, service=number, timeout_s=max(30, listen_ms // 1000 + 15))

    def text(
        self,
        number: str,
        body: str,
        *,
        sender: str,
        user: str = "caller",
        linger_ms: int = 30000,
        answer: int = 202,
    ) -> SippRun:
        """A phone texts ``body`` to ``number`` as customer ``sender`` (P-Asserted-Identity; From user ``user``
        names the trunk endpoint), expects ``answer``, then takes the MESSAGEs sent back for ``linger_ms``;
        returns at once."""
        scenario = _fill(
            "sms.xml", number=number, user=user, sender=sender, body=body, linger_ms=linger_ms, answer=answer
        )
        return self.start(
            scenario, service=number, timeout_s=linger_ms // 1000 + 30, out_of_call=_fill("sms_inbox.xml")
        )

    def cleanup(self) -> None:
        for run in self.runs:
            if run.process.poll() is None:
                run.process.kill()
                run.process.wait()
            shutil.rmtree(run.workdir, ignore_errors=True)
        self.runs.clear()


@dataclass
class SippAgent:
    """An agent phone: registers with digest auth, then answers calls on the same port."""

    sipp: Sipp
    user: str
    password: str = field(repr=False)
    port: int = field(default_factory=free_udp_port)

    def register(self, expires: int = 300) -> SippRun:
        return self.sipp.register(self.user, self.password, port=self.port, expires=expires)

    def unregister(self) -> SippRun:
        return self.register(expires=0)

    def answer(self, ring_ms: int = 200, digits: str = "", tone: Path | None = None) -> SippRun:
        return self.sipp.answer(self.user, port=self.port, ring_ms=ring_ms, digits=digits, tone=tone)

    def dial(self, number: str, listen_ms: int = 15000) -> SippRun:
        """Dial a feature code from another port (this one may be answering calls)."""
        return self.sipp.dial(self.user, self.password, number, listen_ms=listen_ms)
