"""Render Kamailio's config from a KamailioInput: kamailio.cfg and dispatcher.list, deterministic text."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2

from tvoxcc.asterisk.render import REPO_ROOT
from tvoxcc.kamailio.inputs import KamailioInput

TEMPLATE_DIR = REPO_ROOT / "configs" / "kamailio"
HEADER = "Rendered by tvoxcc from its store and tvoxcc.toml: edits here are lost at the next render."
CONFIG_NAME = "kamailio.cfg"
DISPATCHER_NAME = "dispatcher.list"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Kamailio config, not HTML
    )


def dispatcher_list(inp: KamailioInput) -> str:
    """Set 1: every node (setid destination flags priority attributes)."""
    lines = [f"# {HEADER}", "# setid destination flags priority attributes"]
    lines += [f"1 {node.uri} 0 0 duid={node.name}" for node in inp.nodes]
    return "\n".join(lines) + "\n"


def render_all(inp: KamailioInput, out_dir: Path) -> dict[str, str]:
    """File name -> content; kamailio.cfg names dispatcher.list by its path in ``out_dir``."""
    config = (
        _environment()
        .get_template(f"{CONFIG_NAME}.j2")
        .render(inp=inp, header=HEADER, dispatcher_list=str(out_dir.resolve() / DISPATCHER_NAME))
    )
    return {CONFIG_NAME: config, DISPATCHER_NAME: dispatcher_list(inp)}


def write_configs(inp: KamailioInput, out_dir: Path) -> list[Path]:
    """Write both files atomically; kamailio.cfg holds the phones' passwords, so it is 0640."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_all(inp, out_dir).items():
        target = out_dir / name
        temp = out_dir / f".{name}.tvoxcc-tmp"
        temp.write_text(text, encoding="utf-8")
        os.chmod(temp, 0o640 if name == CONFIG_NAME else 0o644)
        temp.replace(target)
        written.append(target)
    return written
