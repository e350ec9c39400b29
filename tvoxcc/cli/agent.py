"""`tvoxcc agent`: agents, their SIP phone (extension and password), skills, queues and capacity."""

from __future__ import annotations

import click

from tvoxcc.admin.edit import edit_tenant
from tvoxcc.admin.spec import AgentSpec, TenantDoc
from tvoxcc.cli._common import tenant_option, with_store
from tvoxcc.cli._entity import Noun, entity_group, find_item

NOUN = Noun(
    "agent",
    "agents",
    AgentSpec,
    ["display_name", "extension", "skills", "queues", "capacity"],
    kind="agent",
    help="Manage agents. A new agent gets a generated SIP password (see `agent password`).",
)


def _extra(group: click.Group) -> None:
    @group.command("password", help="Print an agent's SIP password, or set a new one with --new.")
    @tenant_option
    @click.argument("name")
    @click.option("--new", "new_password", help="New SIP password (at least 8 characters).")
    @click.pass_context
    def password(ctx: click.Context, tenant: str, name: str, new_password: str | None) -> None:
        def change(doc: TenantDoc) -> str:
            index, agent = find_item(doc, NOUN, name)
            if new_password is not None:
                data = agent.model_dump()
                data["sip_password"] = new_password
                doc.agents[index] = AgentSpec.model_validate(data)
                return ""
            secret = agent.sip_password
            return secret.get_secret_value() if secret else ""

        shown = with_store(ctx, lambda store: edit_tenant(store, tenant, change))
        click.echo(shown if new_password is None else f"SIP password of agent {name!r} changed")


agent = entity_group(NOUN, _extra)
