"""The add/list/show/set/remove verbs of a tenant-owned noun, built from its document model.

Options come from the pydantic fields of the noun's spec, so the CLI accepts exactly what the YAML
file accepts and reports errors the same way:
- a scalar field ``wrapup_seconds`` is ``--wrapup-seconds N`` (a bool is ``--record/--no-record``);
- a mapping such as ``skills`` is ``--skill english=5`` (repeatable) and ``--drop-skill english``;
- a list such as ``dids`` is ``--did 1000`` (repeatable) and ``--drop-did 1000``; list items that are
  records take ``key=value,key=value`` (``--overflow when=wait,after_seconds=60,action=callback``).
On `set`, mappings and lists are changed item by item; on `add` they start empty.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, get_args, get_origin

import click
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo

from tvoxcc.admin.checks import Kind, references
from tvoxcc.admin.edit import edit_tenant, validation_problems
from tvoxcc.admin.errors import AdminError
from tvoxcc.admin.spec import TenantDoc
from tvoxcc.cli._common import emit_json, emit_table, emit_yaml, json_option, tenant_option, with_store
from tvoxcc.store.engine import Store

SINGULAR = {
    "skills": "skill",
    "queues": "queue",
    "groups": "group",
    "dids": "did",
    "channels": "channel",
    "holidays": "holiday",
    "campaigns": "campaign",
}


@dataclass(frozen=True)
class Noun:
    name: str  # "queue"
    section: str  # attribute of TenantDoc holding the list
    spec: type[BaseModel]
    columns: list[str]
    key: str = "name"
    kind: Kind | None = None  # what references() knows it as
    help: str = ""
    # Fields not offered as options (secrets get their own dedicated option).
    hidden: frozenset[str] = field(default_factory=frozenset)


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _base(annotation: Any) -> Any:
    annotation = _unwrap_optional(annotation)
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _opt(name: str) -> str:
    return "--" + name.replace("_", "-")


def _parse_pair(text: str, what: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise AdminError(f"{what}: expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def _parse_record(text: str, model: type[BaseModel]) -> dict[str, Any]:
    if "=" not in text:
        first = next(iter(model.model_fields))
        return {first: text}
    return dict(_parse_pair(part, model.__name__) for part in text.split(","))


class _Field:
    """How one spec field is offered on the command line."""

    def __init__(self, name: str, info: FieldInfo) -> None:
        self.name = name
        self.info = info
        self.base = _base(info.annotation)
        self.origin = get_origin(self.base)
        self.singular = SINGULAR.get(name, name)

    def _default(self) -> Any:
        return self.info.get_default(call_default_factory=True) or ()

    def options(self) -> list[Callable[[Any], Any]]:
        if self.origin is dict:
            return [
                click.option(_opt(self.singular), f"{self.name}__put", multiple=True, metavar="KEY=VALUE"),
                click.option(_opt("drop_" + self.singular), f"{self.name}__drop", multiple=True, metavar="KEY"),
            ]
        if self.origin is list:
            return [
                click.option(_opt(self.singular), f"{self.name}__put", multiple=True),
                click.option(_opt("drop_" + self.singular), f"{self.name}__drop", multiple=True),
            ]
        if self.base is bool:
            flag = self.name.replace("_", "-")
            return [click.option(f"--{flag}/--no-{flag}", self.name, default=None)]
        if get_origin(self.base) is Literal:
            return [click.option(_opt(self.name), self.name, type=click.Choice([str(a) for a in get_args(self.base)]))]
        if isinstance(self.base, type) and issubclass(self.base, StrEnum):  # by value: click would show names
            return [click.option(_opt(self.name), self.name, type=click.Choice([m.value for m in self.base]))]
        return [click.option(_opt(self.name), self.name, type=int if self.base is int else str)]

    def apply(self, data: dict[str, Any], values: dict[str, Any]) -> None:
        if self.origin is dict:
            mapping = dict(data[self.name] if self.name in data else self._default())
            for key in values.get(f"{self.name}__drop", ()):
                if mapping.pop(key, None) is None:
                    raise AdminError(f"--drop-{self.singular}: {key!r} is not set")
            for item in values.get(f"{self.name}__put", ()):
                key, value = _parse_pair(item, f"--{self.singular}")
                mapping[key] = value
            data[self.name] = mapping
        elif self.origin is list:
            item_type = _base(get_args(self.base)[0])
            records = isinstance(item_type, type) and issubclass(item_type, BaseModel)
            current = list(data[self.name] if self.name in data else self._default())
            for drop in values.get(f"{self.name}__drop", ()):
                match = [c for c in current if str(next(iter(c.values())) if records else c) == drop]
                if not match:
                    raise AdminError(f"--drop-{self.singular.replace('_', '-')}: {drop!r} is not there")
                current = [c for c in current if c not in match]
            for put in values.get(f"{self.name}__put", ()):
                current.append(_parse_record(put, item_type) if records else put)
            data[self.name] = current
        elif values.get(self.name) is not None:
            data[self.name] = values[self.name]


def _fields(noun: Noun) -> list[_Field]:
    return [
        _Field(name, info)
        for name, info in noun.spec.model_fields.items()
        if name != noun.key and name not in noun.hidden and _base(info.annotation) is not SecretStr
    ]


def _decorate(command: Callable[..., Any], decorators: list[Callable[[Any], Any]]) -> Callable[..., Any]:
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def _items(doc: TenantDoc, noun: Noun) -> list[Any]:
    items: list[Any] = getattr(doc, noun.section)
    return items


def find_item(doc: TenantDoc, noun: Noun, key: str) -> tuple[int, Any]:
    for index, item in enumerate(_items(doc, noun)):
        if getattr(item, noun.key) == key:
            return index, item
    raise AdminError(f"unknown {noun.name} {key!r} in tenant {doc.tenant.name!r}")


def public(item: BaseModel) -> dict[str, Any]:
    """An item as plain data, secrets left out."""
    return {k: v for k, v in item.model_dump(mode="json").items() if not isinstance(getattr(item, k), SecretStr)}


def _build(noun: Noun, data: dict[str, Any], fields: list[_Field], values: dict[str, Any]) -> BaseModel:
    for f in fields:
        f.apply(data, values)
    try:
        return noun.spec.model_validate(data)
    except ValidationError as exc:
        raise AdminError(*validation_problems(exc, prefix=noun.name)) from exc


def entity_group(noun: Noun, extra: Callable[[click.Group], None] | None = None) -> click.Group:
    fields = _fields(noun)
    options = [option for f in fields for option in f.options()]
    key_meta = noun.key.upper()

    @click.group(name=noun.name, help=noun.help or f"Manage a tenant's {noun.section.replace('_', ' ')}.")
    def group() -> None:
        pass

    def add(tenant: str, key: str, **values: Any) -> None:
        def change(doc: TenantDoc) -> None:
            if any(getattr(i, noun.key) == key for i in _items(doc, noun)):
                raise AdminError(f"{noun.name} {key!r} already exists in tenant {tenant!r}")
            _items(doc, noun).append(_build(noun, {noun.key: key}, fields, values))

        with_store(click.get_current_context(), lambda store: edit_tenant(store, tenant, change))
        click.echo(f"added {noun.name} {key!r} to tenant {tenant!r}")

    group.command("add", help=f"Add a {noun.name}.")(
        _decorate(add, [tenant_option, click.argument("key", metavar=key_meta), *options])
    )

    def set_(tenant: str, key: str, **values: Any) -> None:
        def change(doc: TenantDoc) -> None:
            index, item = find_item(doc, noun, key)
            data = item.model_dump()
            _items(doc, noun)[index] = _build(noun, data, fields, values)

        with_store(click.get_current_context(), lambda store: edit_tenant(store, tenant, change))
        click.echo(f"updated {noun.name} {key!r} in tenant {tenant!r}")

    group.command("set", help=f"Change a {noun.name}; options not given keep their value.")(
        _decorate(set_, [tenant_option, click.argument("key", metavar=key_meta), *options])
    )

    @group.command("list", help=f"List the {noun.section.replace('_', ' ')} of a tenant.")
    @tenant_option
    @json_option
    @click.pass_context
    def list_(ctx: click.Context, tenant: str, as_json: bool) -> None:
        rows = [public(i) for i in with_store(ctx, lambda store: _read(store, tenant, noun))]
        emit_json(rows) if as_json else emit_table(rows, [noun.key, *noun.columns])

    @group.command("show", help=f"Show one {noun.name}.")
    @tenant_option
    @click.argument("key", metavar=key_meta)
    @json_option
    @click.pass_context
    def show(ctx: click.Context, tenant: str, key: str, as_json: bool) -> None:
        items = with_store(ctx, lambda store: _read(store, tenant, noun))
        match = [i for i in items if getattr(i, noun.key) == key]
        if not match:
            raise click.exceptions.Exit(_unknown(noun, key, tenant))
        emit_json(public(match[0])) if as_json else emit_yaml(public(match[0]))

    @group.command("remove", help=f"Remove a {noun.name}; refused while anything still uses it.")
    @tenant_option
    @click.argument("key", metavar=key_meta)
    @click.pass_context
    def remove(ctx: click.Context, tenant: str, key: str) -> None:
        def change(doc: TenantDoc) -> None:
            index, _item = find_item(doc, noun, key)
            users = references(doc, noun.kind, key) if noun.kind else []
            if users:
                raise AdminError(f"cannot remove {noun.name} {key!r}: used by {', '.join(users)}")
            del _items(doc, noun)[index]

        with_store(ctx, lambda store: edit_tenant(store, tenant, change))
        click.echo(f"removed {noun.name} {key!r} from tenant {tenant!r}")

    if extra:
        extra(group)
    return group


def _unknown(noun: Noun, key: str, tenant: str) -> int:
    click.echo(f"error: unknown {noun.name} {key!r} in tenant {tenant!r}", err=True)
    return 1


async def _read(store: Store, tenant: str, noun: Noun) -> list[Any]:
    from tvoxcc.admin.repository import read_document

    async with store.session() as session:
        return _items(await read_document(session, tenant), noun)
