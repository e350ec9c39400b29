"""Asterisk config rendering: byte-for-byte golden files, deterministic order, unsafe values refused.

Regenerate the golden files after an intended template change with TVOXCC_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.cli import Tvox
from tvoxcc.asterisk.inputs import AgentPhone, Did, RenderInput, RenderInputError, Trunk
from tvoxcc.asterisk.render import CUSTOM_FILES, SECRET_FILES, custom_file_text, render_all, write_configs
from tvoxcc.config import Settings

GOLDEN = Path(__file__).parent / "golden"

SETTINGS = Settings.model_validate(
    {
        "asterisk": {
            "ari_url": "http://127.0.0.1:8088",
            "ari_password": "ari-secret",
            "ami_secret": "ami-secret",
            "sip_port": 5060,
            "rtp_start": 10000,
            "rtp_end": 10999,
        },
        "agi": {"host": "127.0.0.1", "port": 4573},
    }
)
AGENTS = (
    AgentPhone("acme", "bob", "1002", "bob-pw", "Bob Builder"),
    AgentPhone("beta", "alice", "1001", "beta-alice-pw"),
    AgentPhone("acme", "alice", "1001", "alice-pw", "Alice Acme"),
)
DIDS = (Did("5552000", "beta", "support"), Did("+3225551000", "acme", "sales"), Did("5551000", "acme", "sales"))

TRUNKS = (Trunk("acme", "acme-pstn", "127.0.0.1", 5070),)


def golden_input() -> RenderInput:
    return RenderInput.from_settings(SETTINGS, AGENTS, DIDS, trunks=TRUNKS, dial_prefixes=(("beta", "0"),))


def test_rendered_files_match_golden() -> None:
    rendered = render_all(golden_input())
    if os.environ.get("TVOXCC_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        for name, text in rendered.items():
            (GOLDEN / name).write_text(text)
    assert sorted(rendered) == sorted(p.name for p in GOLDEN.iterdir())
    for name, text in rendered.items():
        assert text == (GOLDEN / name).read_text(), f"{name} differs from tests/golden/{name}"


def test_input_order_does_not_change_output() -> None:
    shuffled = RenderInput.from_settings(
        SETTINGS, tuple(reversed(AGENTS)), tuple(reversed(DIDS)), trunks=TRUNKS, dial_prefixes=(("beta", "0"),)
    )
    assert render_all(shuffled) == render_all(golden_input())


def test_endpoint_names_are_unique_across_tenants() -> None:
    pjsip = render_all(golden_input())["pjsip.conf"]
    assert "[acme-alice](tvoxcc-endpoint)" in pjsip and "[beta-alice](tvoxcc-endpoint)" in pjsip
    assert pjsip.count("max_contacts = 1") == 3


def test_wildcard_sip_bind_leaves_media_address_to_asterisk() -> None:
    settings = SETTINGS.model_copy(update={"asterisk": SETTINGS.asterisk.model_copy(update={"sip_host": "0.0.0.0"})})
    pjsip = render_all(RenderInput.from_settings(settings))["pjsip.conf"]
    assert "media_address" not in pjsip and "bind = 0.0.0.0:5060" in pjsip


def test_no_caller_endpoint_when_disabled() -> None:
    pjsip = render_all(RenderInput.from_settings(SETTINGS, caller_endpoint=None))["pjsip.conf"]
    assert "context = tvoxcc-inbound" not in pjsip


def test_agents_dial_out_with_their_tenants_prefix_into_the_voice_service() -> None:
    extensions = render_all(golden_input())["extensions.conf"]
    acme = extensions.split("[tvoxcc-agents-acme]")[1].split("[tvoxcc-agents-beta]")[0]
    beta = extensions.split("[tvoxcc-agents-beta]")[1]
    assert "exten => _9.,1,Gosub(tvoxcc-dialout,s,1(${EXTEN:1}))" in acme  # the default prefix
    assert "exten => 9,1,Gosub(tvoxcc-dialout,s,1())" in acme  # the prefix alone: refused as an empty number
    assert "exten => _0.,1,Gosub(tvoxcc-dialout,s,1(${EXTEN:1}))" in beta
    assert "Stasis(${TVOXCC_APP},tvoxcc-dialout,${TVOXCC_TENANT},${TVOXCC_AGENT},${ARG1})" in extensions


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: AgentPhone("ac me", "bob", "1002", "pw"), "tenant"),
        (lambda: AgentPhone("acme", "bob]", "1002", "pw"), "agent name"),
        (lambda: AgentPhone("acme", "bob", "10a", "pw"), "extension"),
        (lambda: AgentPhone("acme", "bob", "1002", "pw;x"), "password"),
        (lambda: AgentPhone("acme", "bob", "1002", "pw", 'Bob "B"'), "display name"),
        (lambda: Did("555-1000", "acme", "sales"), "DID"),
        (lambda: RenderInput.from_settings(SETTINGS, (AGENTS[0], AGENTS[0])), "same name"),
        (lambda: RenderInput.from_settings(SETTINGS, (), (DIDS[0], DIDS[0])), "twice"),
        (
            lambda: RenderInput.from_settings(SETTINGS, (AGENTS[0], AgentPhone("acme", "zed", "1002", "pw"))),
            "share an extension",
        ),
        (lambda: RenderInput.from_settings(SETTINGS, dial_prefixes=(("acme", "9X"),)), "dial-out prefix of acme"),
    ],
)
def test_unsafe_values_are_refused(build: object, message: str) -> None:
    assert callable(build)
    with pytest.raises(RenderInputError, match=message):
        build()


def test_secrets_stay_out_of_reprs() -> None:
    text = repr(golden_input())
    assert "ari-secret" not in text and "ami-secret" not in text and "alice-pw" not in text


def test_write_configs_keeps_secret_files_private(tmp_path: Path) -> None:
    written = write_configs(golden_input(), tmp_path, group_id=os.getgid())
    assert {p.name for p in written} == set(render_all(golden_input())) | set(CUSTOM_FILES.values())
    secret = SECRET_FILES | {CUSTOM_FILES[name] for name in SECRET_FILES}
    for path in written:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o640 if path.name in secret else 0o644), path.name
    assert not list(tmp_path.glob(".*tmp"))


def test_rendered_files_include_the_admins_own_files_last() -> None:
    rendered = render_all(golden_input())
    assert set(CUSTOM_FILES) == {"ari.conf", "extensions.conf", "manager.conf", "musiconhold.conf", "pjsip.conf"}
    for name, text in rendered.items():
        custom = CUSTOM_FILES.get(name)
        if custom is None:
            assert "#include" not in text, name
        else:  # last: the admin's sections follow all of ours
            assert text.endswith(f'#include "{custom}"\n'), name
            assert (GOLDEN / name).read_text().endswith(f'#include "{custom}"\n'), name


def test_a_second_render_keeps_the_admins_own_files(tmp_path: Path) -> None:
    first = write_configs(golden_input(), tmp_path)
    custom = tmp_path / "extensions_custom.conf"
    assert custom in first and custom.read_text() == custom_file_text("extensions.conf")
    assert custom_file_text("extensions.conf").count("\n") == 1 and custom.read_text().startswith(";")
    mine = "[admin-own]\nexten => 4242,1,Answer()\n same => n,Hangup()\n"
    custom.write_text(mine)
    (tmp_path / "pjsip_custom.conf").unlink()  # a deleted one comes back, empty but for its comment
    second = write_configs(golden_input(), tmp_path)
    assert custom.read_text() == mine
    assert [p.name for p in second if p.name.endswith("_custom.conf")] == ["pjsip_custom.conf"]
    assert (tmp_path / "pjsip_custom.conf").read_text() == custom_file_text("pjsip.conf")


def test_a_trunk_is_an_endpoint_with_a_contact_and_no_identify_section() -> None:
    pjsip = render_all(golden_input())["pjsip.conf"]
    assert "[acme-pstn](tvoxcc-endpoint)" in pjsip and "contact = sip:127.0.0.1:5070" in pjsip
    assert "type = identify" not in pjsip  # matching by IP would take the agents on 127.0.0.1 for the trunk
    with pytest.raises(RenderInputError, match="same name"):
        RenderInput.from_settings(SETTINGS, AGENTS, DIDS, trunks=(Trunk("acme", "acme-bob", "127.0.0.1"),))
    with pytest.raises(RenderInputError, match="trunk host"):
        Trunk("acme", "pstn", "10.0.0.1;x=1")


def test_cli_render_names_the_custom_files_it_creates_and_keeps_them(tvox: Tvox, tmp_path: Path) -> None:
    out_dir = tmp_path / "asterisk"
    first = tvox.ok("asterisk", "render", "--out", str(out_dir))
    assert "created ari_custom.conf, extensions_custom.conf," in first and "(never overwritten)" in first
    (out_dir / "pjsip_custom.conf").write_text("[my-trunk]\ntype = aor\n")
    second = tvox.ok("asterisk", "render", "--out", str(out_dir))
    assert "created" not in second and (out_dir / "pjsip_custom.conf").read_text() == "[my-trunk]\ntype = aor\n"
