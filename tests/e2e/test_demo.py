"""`tvoxcc demo` end to end: its own lab, a caller walking the IVR to the agent, a mail becoming a ticket."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LAB_CACHE

pytestmark = pytest.mark.asterisk


def test_demo_routes_a_caller_through_the_ivr_to_the_agent(tmp_path: Path, lab: object) -> None:
    # `lab` first: the shared fixture builds the cached Asterisk root (or fails the run, tests/components.py).
    base = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "tvoxcc", "demo", "--dir", str(base), "--lab-cache", str(LAB_CACHE)],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "TVOXCC_CONFIG"},
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "ivr-input        node=main, digit=2" in out
    assert [line.split("digit=")[1] for line in out.splitlines() if "node=code, digit=" in line] == ["1", "2", "3"]
    assert "Outcome: answered; answered by Mario Rossi" in out
    assert re.search(r"queued +queue=sales-it, priority=10, skills=\{'english': 5\}", out)  # the IVR's set node
    assert "|acme/sales-it|acme-mario|CONNECT|" in out
    assert "Callback to caller: done after 1 attempt(s), answered by Mario Rossi" in out
    assert "the ACD holds mario meanwhile (paused outbound-call)" in out  # his own call out (9 + number)
    assert re.search(r"stored as interaction \d+: outbound voice to 0212345678, answered, \d+\.\d s talk", out)
    assert "  tvoxcc callback list -t acme --all: #1 caller sales-it done" in out
    assert re.search(r"--skill english=7` while the voice service runs: the ACD took it live in \d+\.\d s", out)
    assert "  3. agent    Of course Carla: I have updated it to Via Roma 1." in out  # the webchat step
    assert re.search(r"  \d\d:\d\d:\d\d  chat  answered", out)  # in Carla's journey, beside her call
    assert "Ticket T-1001 (open): Order 4711 has not arrived" in out
    assert re.search(r"ACD: T-1001 assigned to (anna|mario); first response due 20\d\d-", out), out[-2000:]
    assert "SLA minutes are business minutes: mon-fri 08:00-20:00; sat 09:00-13:00" in out
    assert "Acknowledgement sent to giulia.verdi@example.test: Re: [#T-1001] Order 4711 has not arrived" in out
    assert "sent it back (our X-Loop header on it): stored on T-1001 flagged loop, acknowledgements queued: 0" in out
    assert "  suggested: order-not-arrived — An order has not arrived [public]" in out  # the Knowledge Base
    sent = "  sent to giulia.verdi@example.test: Re: [#T-1001] Order 4711 has not arrived — "
    assert f"{sent}Your parcel left our warehouse" in out and f"{sent}Hello Giulia Verdi," in out  # reply, solved
    assert re.search(r"  #1 \d+\.\d s sales-it agent mario from caller wav \d+ bytes sha256 [0-9a-f]{12}…", out), out[
        -3000:
    ]
    assert re.search(r"  exported #1 to .*demo-recording\.wav: \d+\.\d s of WAV", out)
    assert re.search(
        r"Audit log: \d+ rows, chain intact \(tvoxcc audit verify\); last: recording.export by cli:demo", out
    )
    assert "Asterisk stopped" in out
    assert re.search(r"mario's \*7690 at wrap-up: disposition 'sale' on his last interaction \(\d+\)", out), out[-3000:]
    assert re.search(r"insight --by group: sales-team: \d+ contacts", out)  # the hierarchy step
    assert "N-node deployment files in" in out
    assert 'case "acme-mario":' in (base / "deploy/kamailio/kamailio.cfg").read_text()
    assert "[[kamailio.nodes]]" in (base / "deploy/tvoxcc-nodes.toml").read_text()
    assert "contact = sip:acme-mario@192.0.2.10:5060" in (base / "deploy/node2/asterisk/pjsip.conf").read_text()
    assert (base / "deploy/systemd/main/tvoxcc-voice.service").is_file()
    assert "Wallboard: http://127.0.0.1:8080/wallboard/acme" in out
    assert "Journey API: http://127.0.0.1:8080/api/tenants/acme/contacts/1/journey" in out
    assert "contact 1 Carla Bianchi (caller)" in out and "last agent mario" in out  # the journey's screen pop
    # SMS: a text becomes a chat mario answers; the phone gets the reply; a second text joins the conversation
    assert "demo: SMS chat 1 with Luca Neri (channel sms) offered to mario on the desktop; accepted and answered" in out
    assert "the customer's phone received the reply as a SIP MESSAGE: 'Hello! Order 1234 left our warehouse" in out
    assert re.search(r"a second text from \+393471112233 joined the same conversation: .*'Great, thanks!'\]", out)
    # 6: the customer's forwarding rule sending our acknowledgement back is an inbound mail too; the SMS and the
    # webchat are one each
    assert "Address book: 100.0% of 6 inbound interactions matched to a known contact" in out, out[-6000:]
    # the day's Insight per queue: offered, answered, abandoned — sales-it's call and SMS, web-chat's chat
    summary = {
        line.split()[0]: line.split()[1:4] for line in out.splitlines() if line.startswith(("sales-it ", "web-chat "))
    }
    assert summary == {"sales-it": ["2", "2", "0"], "web-chat": ["1", "1", "0"]}, [
        line for line in out.splitlines() if line.startswith(("sales-it", "web-chat", "all", "queue"))
    ]
    # the address book imported from demo/contacts.csv; the mail's sender exported, then erased
    assert "demo: 3 contacts imported from contacts.csv" in out
    assert re.search(r"contact erase -t acme giulia.verdi@example.test --yes: contact \d+ erased \(", out)
    assert "  Insight's figures for today after the erase: unchanged" in out
