"""Outbound mail bodies from jinja2 templates, chosen per tenant and language with a default.

Lookup order for ``ack`` in tenant ``acme``, language ``it``: every override folder first
(``<dir>/acme/it/ack.txt.j2``, ``<dir>/acme/ack.txt.j2``, ``<dir>/default/it/…``, ``<dir>/default/…``),
then the same names among the templates shipped in this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

PACKAGED = Path(__file__).parent / "templates"


class MailTemplates:
    def __init__(self, override_dirs: Sequence[Path] = ()) -> None:
        folders = [str(d) for d in override_dirs if d.is_dir()] + [str(PACKAGED)]
        # Plain text mail: no HTML autoescaping; StrictUndefined makes a typo in a template fail loudly.
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folders),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )

    def choose(self, template: str, tenant: str, language: str | None) -> jinja2.Template:
        """The template that applies (found on disk now); callers rendering many mails may keep it a while."""
        names = []
        for owner in (tenant, "default"):
            if language:
                names.append(f"{owner}/{language}/{template}.txt.j2")
            names.append(f"{owner}/{template}.txt.j2")
        return self.env.select_template(names)

    def render(self, template: str, tenant: str, language: str | None, **context: Any) -> str:
        return render_chosen(self.choose(template, tenant, language), **context)


def render_chosen(chosen: jinja2.Template, **context: Any) -> str:
    return chosen.render(**context).strip() + "\n"
