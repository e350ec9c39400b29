"""[asterisk] sip_tls and srtp: settings that cannot work are refused, the rendered PJSIP config carries them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import ValidationError

from tests.test_render import AGENTS, DIDS, SETTINGS
from tvoxcc.asterisk.inputs import RenderInput, RenderInputError, TlsTransport
from tvoxcc.asterisk.node import node_input
from tvoxcc.asterisk.render import render_all
from tvoxcc.config import AsteriskSettings

TLS = TlsTransport(5061, "/etc/asterisk/keys/tvoxcc.crt", "/etc/asterisk/keys/tvoxcc.key")


def test_tls_needs_its_files_and_srtp_needs_tls() -> None:
    with pytest.raises(ValidationError, match="tls_cert_file"):
        AsteriskSettings(sip_tls=True)
    with pytest.raises(ValidationError, match="srtp needs sip_tls"):
        AsteriskSettings(srtp=True)
    ok = AsteriskSettings(sip_tls=True, tls_cert_file="/k/c.pem", tls_key_file="/k/k.pem", srtp=True)
    settings = SETTINGS.model_copy(update={"asterisk": ok})
    inp = RenderInput.from_settings(settings, AGENTS, DIDS)
    assert inp.sip_tls == TlsTransport(5061, "/k/c.pem", "/k/k.pem") and inp.srtp


def test_unsafe_or_incomplete_tls_is_refused() -> None:
    with pytest.raises(RenderInputError, match="cert_file"):
        TlsTransport(5061, "/etc/a.pem\n[evil]", "/etc/k.pem")
    with pytest.raises(RenderInputError, match="srtp needs sip_tls"):
        replace(RenderInput.from_settings(SETTINGS, AGENTS), srtp=True)


def test_agents_talk_over_tls_with_srtp_and_callers_stay_on_udp() -> None:
    pjsip = render_all(replace(RenderInput.from_settings(SETTINGS, AGENTS, DIDS), sip_tls=TLS, srtp=True))["pjsip.conf"]
    assert "[transport-tls]\ntype = transport\nprotocol = tls\nbind = 127.0.0.1:5061" in pjsip
    assert "cert_file = /etc/asterisk/keys/tvoxcc.crt" in pjsip
    agent = pjsip.split("[acme-alice](tvoxcc-endpoint)")[1].split("\n\n")[0]
    assert "transport = transport-tls" in agent and "media_encryption = sdes" in agent
    caller = pjsip.split("[caller](tvoxcc-endpoint)")[1].split("\n\n")[0]
    assert "transport-tls" not in caller and "media_encryption" not in caller


def test_without_tls_nothing_changes() -> None:
    pjsip = render_all(RenderInput.from_settings(SETTINGS, AGENTS, DIDS))["pjsip.conf"]
    assert "transport-tls" not in pjsip and "media_encryption" not in pjsip


def test_a_node_reaches_agents_through_kamailio_even_with_tls() -> None:
    inp = replace(RenderInput.from_settings(SETTINGS, AGENTS, DIDS), sip_tls=TLS)
    pjsip = render_all(node_input(inp, "10.0.0.2", "10.0.0.1", 5060))["pjsip.conf"]
    agent = pjsip.split("[acme-alice](tvoxcc-endpoint)")[1].split("\n\n")[0]
    assert "transport = transport-tls" not in agent  # Kamailio speaks to the phones
