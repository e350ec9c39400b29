"""The config file: typed sections, env overrides, `tvoxcc config check`, secrets masked."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.cli import Tvox
from tvoxcc.config import ConfigError, load_settings


def test_init_writes_a_private_config_once(tvox: Tvox) -> None:
    assert stat.S_IMODE(tvox.config.stat().st_mode) == 0o600
    before = tvox.config.read_text()
    assert "kept as it is" in tvox.ok("init")
    assert tvox.config.read_text() == before  # secrets are not regenerated
    assert "OK" in tvox.ok("config", "check")
    assert "up_to_date" in tvox.ok("db", "status", "--json")


def test_check_names_each_bad_key_and_why(tvox: Tvox) -> None:
    tvox.config.write_text(
        '[asterisk]\nami_port = 70000\nari_url = "ftp://x"\ncolour = "blue"\n[database]\nurl = "mysql://x"\n'
    )
    result = tvox("config", "check")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert any("asterisk.ami_port: Input should be less than or equal to 65535" in line for line in lines)
    assert any("asterisk.ari_url" in line and "http://" in line for line in lines)
    assert any("asterisk.colour: Extra inputs are not permitted" in line for line in lines)
    assert any("database.url" in line and "sqlite" in line for line in lines)
    assert "mysql://x" not in result.output  # even a bad secret is not echoed back


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[asterisk\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad)
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "none.toml", require_file=True)


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text('[agi]\nport = 4573\n[asterisk]\nari_password = "from-file"\n')
    settings = load_settings(
        file, {"TVOXCC_AGI__PORT": "4600", "TVOXCC_ASTERISK__ARI_PASSWORD": "from-env", "OTHER": "x"}
    )
    assert settings.agi.port == 4600
    assert settings.asterisk.ari_password.get_secret_value() == "from-env"
    with pytest.raises(ConfigError, match=r"agi\.port"):
        load_settings(file, {"TVOXCC_AGI__PORT": "not-a-port"})


def test_environment_reaches_top_level_and_nested_keys_and_typos_are_named(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text('[mail.smtp]\nhost = "file.example"\nport = 25\n')
    settings = load_settings(
        file, {"TVOXCC_DATA_DIR": str(tmp_path), "TVOXCC_MAIL__SMTP__HOST": "env.example", "TVOXCC_TENANT": "acme"}
    )
    assert settings.data_dir == tmp_path
    assert (settings.mail.smtp.host, settings.mail.smtp.port) == ("env.example", 25)  # the file's other keys stay
    with pytest.raises(ConfigError) as caught:
        load_settings(file, {"TVOXCC_DATABSE__URL": "sqlite:///x.db", "TVOXCC_AGI__PROT": "4600"})
    assert caught.value.problems == [
        "agi.prot: Extra inputs are not permitted",
        "TVOXCC_DATABSE__URL: no such section 'databse'",
    ]


def test_show_masks_every_secret(tvox: Tvox) -> None:
    text = tvox.config.read_text()
    secrets = [line.split('"')[1] for line in text.splitlines() if line.startswith(("ari_password", "ami_secret"))]
    assert len(secrets) == 2
    shown = tvox.ok("config", "show", "--json")
    data = json.loads(shown)
    assert data["asterisk"]["ari_password"] == "**********"
    assert data["database"]["url"] == "**********"
    for secret in secrets:
        assert secret not in shown
    assert repr(load_settings(tvox.config)).count("**********") >= 3


def test_commands_refuse_an_uninitialised_database(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/empty.db"\n')
    out = Tvox(config).fails("tenant", "list")
    assert "tvoxcc db upgrade" in out
