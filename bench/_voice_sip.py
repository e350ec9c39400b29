"""The SIP side of bench/voice.py, played by sipp: N agent phones in one process, callers at a rate.

- ``register_agents``: sipp REGISTERs every agent (digest auth) from port P;
  Asterisk's ``rewrite_contact`` makes P their contact, so one answering process on P serves them all.
- ``AgentPhones``: that answering process: every INVITE is answered at once (200 OK), the agent talks
  ``talk_ms`` and hangs up (BYE). Each answered call is one line of its log file (counted per step).
- ``run_callers``: callers at ``rate``/s for ``count`` calls: INVITE, 200 OK, ACK, wait for Asterisk's BYE
  (the agent hung up). sipp's response-time log gives, per call, the time from the 200 OK (answered: the
  IVR or ``Answer()``) to that BYE.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SIPP = shutil.which("sipp") or "sipp"

REGISTER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench register">
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[field0]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Expires: 3600
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[field0]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      [authentication username=[field0] password=[field1]]
      Expires: 3600
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200"/>
</scenario>
"""

# The agent answers at once, talks TALK_MS, then hangs up itself: its BYE reverses From and To of the INVITE.
AGENT = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench agent">
  <recv request="INVITE" crlf="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="remote"/>
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="local"/>
      <ereg regexp="sip:[^@]*@[^;>]*" search_in="hdr" header="Contact:" check_it="true" assign_to="target"/>
      <log message="answered"/>
    </action>
  </recv>
  <send retrans="500"><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:agent@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=agent 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=sendrecv
  ]]></send>
  <recv request="ACK" crlf="true"/>
  <pause milliseconds="TALK_MS"/>
  <send retrans="500"><![CDATA[
      BYE [$target] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$local];tag=[pid]SIPpTag01[call_number]
      To: [$remote]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200" timeout="10000"/>
</scenario>
"""

# The same agent behind a proxy (Kamailio): its Record-Route echoed, the BYE sent along it (the nodes take SIP from
# the proxy only).
_CONTACT_EREG = '      <ereg regexp="sip:[^@]*@[^;>]*" search_in="hdr" header="Contact:" check_it="true"'
AGENT_VIA_PROXY = (
    AGENT.replace('<recv request="INVITE" crlf="true">', '<recv request="INVITE" crlf="true" rrs="true">')
    .replace(_CONTACT_EREG + ' assign_to="target"/>\n', "")  # sipp refuses a variable that is never used
    .replace(
        "      [last_CSeq:]\n      Contact: <sip:agent@",
        "      [last_CSeq:]\n      [last_Record-Route:]\n      Contact: <sip:agent@",
    )
    .replace("      BYE [$target] SIP/2.0\n", "      BYE [next_url] SIP/2.0\n      [routes]\n")
)

CALLER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench caller">
  <send retrans="500" start_rtd="1"><![CDATA[
      INVITE sip:NUMBER@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "caller" <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:NUMBER@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:caller@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=sendrecv
  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true" rtd="1" start_rtd="2"/>
  <send><![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "caller" <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv request="BYE" timeout="BYE_TIMEOUT_MS" rtd="2"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

  ]]></send>
</scenario>
"""


def _sipp(
    target: str, workdir: Path, scenario: str, port: int, extra: list[str], local_ip: str = "127.0.0.1"
) -> tuple[list[str], subprocess.Popen[str]]:
    (workdir / "scenario.xml").write_text(scenario)
    args = [SIPP, target, "-sf", "scenario.xml", "-i", local_ip, "-p", str(port), "-nostdin"]
    args += ["-mi", local_ip, "-aa", *extra]
    process = subprocess.Popen(
        args, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return args, process


def register_agents(target: str, port: int, users: list[tuple[str, str]], local_ip: str = "127.0.0.1") -> None:
    """REGISTER every (user, password) from ``port``, one sipp run each; raises when one fails.

    (sipp does not expand injected fields inside ``[authentication …]``: one scenario per agent.)
    """
    workdir = Path(tempfile.mkdtemp(prefix="bench-reg-"))
    for user, password in users:
        scenario = REGISTER.replace("[field0]", user).replace("[field1]", password)
        _, process = _sipp(target, workdir, scenario, port, ["-m", "1", "-timeout", "15s"], local_ip)
        output, _ = process.communicate(timeout=30)
        if process.returncode != 0:
            raise RuntimeError(f"registering {user} failed (sipp {process.returncode}):\n{output[-2000:]}")
    shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class AgentPhones:
    """The answering process for every agent registered from ``port``."""

    target: str
    port: int
    talk_ms: int = 1000
    local_ip: str = "127.0.0.1"
    scenario: str = AGENT  # AGENT_VIA_PROXY behind Kamailio
    process: subprocess.Popen[str] | None = None
    workdir: Path | None = None

    def start(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-agents-"))
        scenario = self.scenario.replace("TALK_MS", str(self.talk_ms))
        extra = ["-m", "10000000", "-trace_logs", "-log_file", "answered.log", "-max_socket", "10000"]
        _, self.process = _sipp(self.target, self.workdir, scenario, self.port, extra, self.local_ip)

    def answered(self) -> int:
        """Calls answered since ``start``."""
        log = self.workdir / "answered.log" if self.workdir else None
        if log is None or not log.exists():
            return 0
        return log.read_text(errors="replace").count("answered")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass(frozen=True)
class CallerResult:
    attempted: int
    completed: int  # answered, then hung up by the far end within the timeout
    waits_ms: list[float]  # per completed call: answered -> far end's BYE (ms)


def run_callers(
    target: str, port: int, number: str, rate: float, count: int, bye_timeout_ms: int, local_ip: str = "127.0.0.1"
) -> CallerResult:
    workdir = Path(tempfile.mkdtemp(prefix="bench-callers-"))
    scenario = CALLER.replace("NUMBER", number).replace("BYE_TIMEOUT_MS", str(bye_timeout_ms))
    limit = str(max(10, int(rate * (bye_timeout_ms / 1000 + 5))))
    extra = ["-r", f"{rate:g}", "-m", str(count), "-l", limit, "-trace_rtt", "-rtt_freq", "1", "-trace_stat"]
    extra += ["-fd", "1", "-timeout", f"{int(count / rate + bye_timeout_ms / 1000 + 30)}s"]
    _, process = _sipp(target, workdir, scenario, port, extra, local_ip)
    try:
        process.communicate(timeout=count / rate + bye_timeout_ms / 1000 + 60)
    except subprocess.TimeoutExpired:
        # sipp past its own -timeout (seen at 160 calls/s on a loaded host): stopped, and its calls not yet
        # completed count as failed (its statistics file is written every second)
        process.kill()
        process.communicate(timeout=30)
    waits: list[float] = []
    for rtt in workdir.glob("*_rtt.csv"):
        lines = rtt.read_text().splitlines()  # header: Date_ms;response_time_ms;rtd_no
        for line in lines[1:]:
            fields = line.split(";")
            if len(fields) >= 3 and fields[2].strip() == "2":
                waits.append(float(fields[1]))
    completed = _successful(workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    return CallerResult(count, completed, waits)


def _successful(workdir: Path) -> int:
    """The last cumulative SuccessfulCall count of sipp's statistics file."""
    for stat in workdir.glob("*_.csv"):
        lines = stat.read_text().splitlines()
        if len(lines) >= 2:
            header = lines[0].split(";")
            column = header.index("SuccessfulCall(C)")
            return int(lines[-1].split(";")[column])
    raise RuntimeError(f"sipp wrote no statistics in {workdir}: {[p.name for p in workdir.iterdir()]}")
