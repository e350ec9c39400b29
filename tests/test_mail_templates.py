"""Outbound templates: per tenant and language, falling back to the packaged default."""

from __future__ import annotations

from pathlib import Path

from tvoxcc.mail.templates import MailTemplates

CONTEXT = {"name": "Anna", "tag": "[#T-7]", "tenant_display": "ACME"}


def test_packaged_default_and_language(tmp_path: Path) -> None:
    templates = MailTemplates([tmp_path / "absent"])
    assert "opened ticket [#T-7]" in templates.render("ack", "acme", "en", **CONTEXT)
    assert "aperto il ticket [#T-7]" in templates.render("ack", "acme", "it", **CONTEXT)
    assert "opened ticket" in templates.render("ack", "acme", "de", **CONTEXT)  # no German: the default


def test_tenant_override_wins(tmp_path: Path) -> None:
    (tmp_path / "acme" / "it").mkdir(parents=True)
    (tmp_path / "acme" / "it" / "ack.txt.j2").write_text("Ciao {{ name }}, ticket {{ tag }}.")
    templates = MailTemplates([tmp_path])
    assert templates.render("ack", "acme", "it", **CONTEXT) == "Ciao Anna, ticket [#T-7].\n"
    assert "aperto il ticket" in templates.render("ack", "other", "it", **CONTEXT)
