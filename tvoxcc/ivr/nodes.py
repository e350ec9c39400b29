"""The kinds of node an IVR flow is made of. A flow is data: it is stored, exported and validated.

Prompts are names: ``sound:hello-world`` is an Asterisk sound, ``digits:123`` says digits, anything else
is a tenant prompt (``welcome``) rendered from text by `tvoxcc prompts render` into the tenant's
sound folder, per language.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

NodeId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Digit = Annotated[str, Field(pattern=r"^[0-9*#]$")]
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Play(_Node):
    type: Literal["play"]
    prompts: list[str] = Field(min_length=1)
    next: NodeId


class Menu(_Node):
    type: Literal["menu"]
    prompts: list[str] = Field(min_length=1)
    options: dict[Digit, NodeId] = Field(min_length=1)
    timeout_seconds: float = Field(5.0, gt=0, le=60)
    retries: int = Field(2, ge=0, le=10)  # extra attempts after the first one
    invalid_prompt: str | None = "sound:option-is-invalid"
    timeout_prompt: str | None = None
    on_fail: NodeId


class Collect(_Node):
    """Collect digits into a variable (a customer code, an account number…)."""

    type: Literal["collect"]
    prompts: list[str] = Field(min_length=1)
    variable: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    min_digits: int = Field(1, ge=1, le=32)
    max_digits: int = Field(8, ge=1, le=32)
    terminator: Literal["#", "*"] | None = "#"
    pattern: str | None = None  # a full-match regular expression the digits must satisfy
    timeout_seconds: float = Field(5.0, gt=0, le=60)  # before the first and between digits
    retries: int = Field(2, ge=0, le=10)
    invalid_prompt: str | None = "sound:option-is-invalid"
    next: NodeId
    on_fail: NodeId

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class TimeCondition(_Node):
    """Weekly opening hours and holidays, in the tenant's time zone."""

    type: Literal["time"]
    hours: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[str]]
    holidays: list[Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$|^\d{2}-\d{2}$")]] = Field(default_factory=list)
    open: NodeId
    closed: NodeId
    holiday: NodeId | None = None  # default: closed

    @field_validator("hours")
    @classmethod
    def _ranges(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, ranges in value.items():
            for text in ranges:
                if not _HHMM.match(text) or text[:5] >= text[6:]:
                    raise ValueError(f"{day}: {text!r} is not a range like 09:00-18:00")
        return value


class Language(_Node):
    type: Literal["language"]
    prompts: list[str] = Field(min_length=1)
    options: dict[Digit, Annotated[str, Field(pattern=r"^[a-z]{2}$")]] = Field(min_length=1)
    timeout_seconds: float = Field(5.0, gt=0, le=60)
    next: NodeId


class Branch(_Node):
    """Branch on what is known of the caller: ``vip``, ``known``, ``open_tickets``, ``caller``, a variable."""

    type: Literal["branch"]
    field: Annotated[str, Field(pattern=r"^(vip|known|open_tickets|caller|language|var\.[a-z][a-z0-9_]*)$")]
    op: Literal["is-true", "is-false", "eq", "ne", "gt", "lt", "startswith"] = "is-true"
    value: str | int | None = None
    then: NodeId
    otherwise: NodeId = Field(alias="else")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SetRouting(_Node):
    """Priority and skills the queue will use for this contact."""

    type: Literal["set"]
    priority: int | None = Field(None, ge=0, le=100)
    skills: dict[str, Annotated[int, Field(ge=1, le=10)]] = Field(default_factory=dict)
    variables: dict[str, str] = Field(default_factory=dict)
    next: NodeId


class ToQueue(_Node):
    type: Literal["queue"]
    queue: str


class Transfer(_Node):
    type: Literal["transfer"]
    destination: Annotated[str, Field(pattern=r"^\+?[0-9*#]{2,20}$")]


class Voicemail(_Node):
    """Record a message; it becomes a support ticket with the recording attached."""

    type: Literal["voicemail"]
    prompts: list[str] = Field(default_factory=lambda: ["sound:vm-intro"])
    max_seconds: int = Field(120, ge=5, le=600)


class RequestCallback(_Node):
    type: Literal["callback"]
    queue: str
    prompts: list[str] = Field(default_factory=lambda: ["sound:thank-you-for-calling"])


class Hangup(_Node):
    type: Literal["hangup"]
    prompts: list[str] = Field(default_factory=list)


Node = Annotated[
    Play
    | Menu
    | Collect
    | TimeCondition
    | Language
    | Branch
    | SetRouting
    | ToQueue
    | Transfer
    | Voicemail
    | RequestCallback
    | Hangup,
    Field(discriminator="type"),
]

# Nodes that wait for the caller: a cycle must pass through one, or the call would spin forever.
INPUT_NODES = (Menu, Collect, Language)
TERMINAL_NODES = (ToQueue, Transfer, Voicemail, RequestCallback, Hangup)


class Flow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    service: str
    start: NodeId
    language: str | None = None
    nodes: dict[NodeId, Node] = Field(min_length=1)


def targets(node: _Node) -> list[tuple[str, str]]:
    """(field, target node id) for every edge leaving ``node``."""
    edges: list[tuple[str, str]] = []
    for field in ("next", "on_fail", "open", "closed", "holiday", "then", "otherwise"):
        value = getattr(node, field, None)
        if isinstance(value, str):
            edges.append((field if field != "otherwise" else "else", value))
    if isinstance(node, Menu):
        edges += [(f"options.{digit}", target) for digit, target in node.options.items()]
    return edges


def prompts_of(node: _Node) -> list[str]:
    names = list(getattr(node, "prompts", []))
    for field in ("invalid_prompt", "timeout_prompt"):
        value = getattr(node, field, None)
        if value:
            names.append(value)
    return names
