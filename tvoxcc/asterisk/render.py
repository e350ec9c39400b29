"""Render Asterisk's config files from a RenderInput: deterministic text, no clock, no I/O but the templates."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import jinja2

import tvoxcc
from tvoxcc.asterisk.inputs import RenderInput

REPO_ROOT = Path(tvoxcc.__file__).resolve().parents[1]
TEMPLATE_DIRS = (REPO_ROOT / "configs", REPO_ROOT / "dialplan")
HEADER = "; Rendered by tvoxcc from its store and tvoxcc.toml: edits here are lost at the next render."

# Rendered file -> the admin's own file it #includes last (their contexts, endpoints, AMI/ARI users, MOH
# classes beside ours). tvoxcc creates each one once, holding a comment only, and never writes it again.
# Not for asterisk.conf and modules.conf (tvoxcc's directories and its noload list of modules that bind
# 0.0.0.0), nor http/rtp/logger.conf (settings tvoxcc.toml owns). queues.conf is not rendered: it stays
# Debian's, for the admin to edit (tvoxcc's queues are its own ACD).
CUSTOM_FILES = {
    "ari.conf": "ari_custom.conf",
    "extensions.conf": "extensions_custom.conf",
    "manager.conf": "manager_custom.conf",
    "musiconhold.conf": "musiconhold_custom.conf",
    "pjsip.conf": "pjsip_custom.conf",
}

# Files holding a password or secret: not world-readable once written (their custom files neither).
SECRET_FILES = frozenset({"ari.conf", "manager.conf", "pjsip.conf"})

# Modules that bind 0.0.0.0, reach outside the host or probe hardware; tvoxcc uses none of them.
NOLOAD_EXPOSED = (
    "chan_alsa.so",
    "chan_console.so",
    "chan_dahdi.so",
    "chan_iax2.so",
    "chan_mgcp.so",
    "chan_mobile.so",
    "chan_motif.so",
    "chan_ooh323.so",
    "chan_oss.so",
    "chan_skinny.so",
    "chan_unistim.so",
    "pbx_dundi.so",
    "res_corosync.so",
    "res_hep.so",
    "res_hep_pjsip.so",
    "res_hep_rtcp.so",
    "res_phoneprov.so",
    "res_pjsip_phoneprov_provider.so",
    "res_prometheus.so",
    "res_snmp.so",
    "res_statsd.so",
    "res_stun_monitor.so",
    "res_xmpp.so",
)
# Modules that only add noise or conflicts with Debian's sample configs (databases tvoxcc does not use,
# a second voicemail build, the sample AEL/Lua dialplans that would add demo contexts).
NOLOAD_UNUSED = (
    "app_voicemail_imap.so",
    "app_voicemail_odbc.so",
    "cdr_beanstalkd.so",
    "cdr_custom.so",
    "cdr_pgsql.so",
    "cdr_radius.so",
    "cdr_sqlite3_custom.so",
    "cdr_tds.so",
    "cel_beanstalkd.so",
    "cel_custom.so",
    "cel_pgsql.so",
    "cel_radius.so",
    "cel_sqlite3_custom.so",
    "cel_tds.so",
    "pbx_ael.so",
    "pbx_lua.so",
    "res_config_ldap.so",
    "res_config_pgsql.so",
)
NOLOAD = tuple(sorted(NOLOAD_EXPOSED + NOLOAD_UNUSED))


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in TEMPLATE_DIRS]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Asterisk config, not HTML
    )


def template_names() -> tuple[str, ...]:
    names = [p.name for d in TEMPLATE_DIRS for p in d.glob("*.conf.j2")]
    return tuple(sorted(names))


def _is_wildcard(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_unspecified
    except ValueError:
        return False  # a host name: leave it to Asterisk


def _ami_permit(bind: str) -> str:
    permits = ["127.0.0.1/255.255.255.255"]
    if not _is_wildcard(bind) and bind not in ("127.0.0.1", "localhost"):
        permits.append(f"{bind}/255.255.255.255")
    return ",".join(permits)


def render_all(inp: RenderInput) -> dict[str, str]:
    """File name -> content, for every template in configs/ and dialplan/."""
    env = _environment()
    context = {
        "inp": inp,
        "header": HEADER,
        "noload": NOLOAD,
        # With a wildcard SIP bind the SDP address cannot be guessed: let Asterisk pick it.
        "media_address": None if _is_wildcard(inp.sip_bind) else inp.sip_bind,
        "ami_permit": _ami_permit(inp.ami_bind),
    }
    rendered: dict[str, str] = {}
    for name in template_names():
        target = name.removesuffix(".j2")
        custom = CUSTOM_FILES.get(target)
        if custom is None:
            rendered[target] = env.get_template(name).render(context)
            continue
        header = f"{HEADER}\n; Your own additions go in {custom}, included at the end."
        text = env.get_template(name).render({**context, "header": header})
        rendered[target] = (
            f'{text}\n; The admin\'s own file: tvoxcc created it once and never writes it.\n#include "{custom}"\n'
        )
    return rendered


def custom_file_text(rendered: str) -> str:
    """The one line a custom file is created with."""
    return (
        f"; Yours: tvoxcc never overwrites this file, #included at the end of {rendered}; start it with a [section].\n"
    )


def _set_mode(path: Path, secret: bool, group_id: int | None) -> None:
    if secret:
        path.chmod(0o640)
        if group_id is not None:
            os.chown(path, -1, group_id)
    else:
        path.chmod(0o644)


def write_configs(inp: RenderInput, out_dir: Path, *, group_id: int | None = None) -> list[Path]:
    """Write every rendered file atomically, and each custom file it includes if it does not exist yet.

    Secret files and their custom files get 0640 (group ``group_id`` when given). Returns the files
    written: every rendered one, and the custom files created by this call.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    created = []
    for name, custom in CUSTOM_FILES.items():  # first: a rendered file never includes a missing one
        target = out_dir / custom
        try:
            with target.open("x", encoding="utf-8") as handle:  # "x": an existing file is never touched
                handle.write(custom_file_text(name))
        except FileExistsError:
            continue
        _set_mode(target, name in SECRET_FILES, group_id)
        created.append(target)
    written = []
    for name, text in render_all(inp).items():
        target = out_dir / name
        temp = out_dir / f".{name}.tvoxcc-tmp"
        temp.write_text(text, encoding="utf-8")
        _set_mode(temp, name in SECRET_FILES, group_id)
        temp.replace(target)
        written.append(target)
    return written + created
