"""A whole tenant as code: the document `tvoxcc export` writes and `tvoxcc import` reads.

Every CLI change goes through the same document too (read, change, validate, write), so the CLI and
the YAML file can never disagree on what is valid. These models check each value on its own;
tvoxcc.admin.checks checks how the values refer to each other.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from tvoxcc.campaigns.model import MIN_RING_S, AbandonRule, DialMode, MachineAction
from tvoxcc.campaigns.spec import SpecError, format_window, parse_window
from tvoxcc.ivr.nodes import Flow
from tvoxcc.queues.model import Channel, OverflowAction, OverflowWhen, Strategy
from tvoxcc.recordings.policy import RecordingPolicy
from tvoxcc.scripts.read import read_script
from tvoxcc.support.hours import HoursError, format_week, parse_week

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
Name = Annotated[str, Field(pattern=NAME_RE.pattern, description="lower-case letters, digits, - and _")]
Level = Annotated[int, Field(ge=1, le=10)]
Seconds = Annotated[int, Field(ge=0, le=86_400)]

# Channels, strategies and overflow rules are the queue core's own vocabularies (tvoxcc.queues.model): the
# router is built from these documents without translation. Specs keep their plain values (use_enum_values).
Role = Literal["admin", "supervisor", "agent", "support"]

ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]

_TIMEZONES = frozenset(available_timezones())
_DID_RE = re.compile(r"^\+?[0-9]{2,15}$")


def _voice_only() -> list[Channel]:
    return [Channel.VOICE]


def _one_call() -> dict[Channel, int]:
    return {Channel.VOICE: 1}


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=True)


class TenantSpec(Spec):
    name: Name
    display_name: str = ""
    timezone: str = "UTC"
    country: str = Field("IT", description="ISO 3166 region used to normalise local phone numbers")
    language: str = Field("en", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    retention_days: int | None = Field(
        None,
        ge=0,
        le=36_500,
        description="days interactions and mails are kept (tvoxcc.journey.retention); 0: for ever",
    )

    @field_validator("retention_days")
    @classmethod
    def _zero_is_for_ever(cls, value: int | None) -> int | None:
        return value or None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if value not in _TIMEZONES:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Rome)")
        return value

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown country code {value!r} (use ISO 3166 alpha-2, e.g. IT)")
        return value.upper()


class ServiceSpec(Spec):
    name: Name
    display_name: str = ""
    channels: list[Channel] = Field(default_factory=_voice_only, min_length=1, validate_default=True)
    priority: int = Field(0, ge=0, le=100)
    sl_threshold_seconds: int = Field(20, ge=1, le=3600)
    language: str | None = Field(None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    dids: list[str] = Field(default_factory=list)
    # Ticket SLA targets in minutes (paused while the ticket waits on the customer); None: no target. Minutes of
    # business hours when the service has them ("mon-fri 09:00-18:00; sat 09:00-13:00", tenant timezone; holidays
    # are whole days off), else calendar minutes. "always" (or nothing): around the clock.
    first_response_minutes: int | None = Field(None, ge=1, le=525_600)
    resolution_minutes: int | None = Field(None, ge=1, le=525_600)
    business_hours: str | None = None
    holidays: list[date] = Field(default_factory=list)

    @field_validator("business_hours")
    @classmethod
    def _business_hours(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() in ("", "always"):
            return None
        try:
            return format_week(parse_week(value))
        except HoursError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, values: list[date]) -> list[date]:
        return sorted(set(values))

    @field_validator("dids")
    @classmethod
    def _dids(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _DID_RE.match(value):
                raise ValueError(f"bad DID {value!r}: digits only, optional leading +, 2 to 15 digits")
        return values


class SkillSpec(Spec):
    name: Name
    description: str = ""


class GroupSpec(Spec):
    """A team of agents (AgentSpec.groups) and what it works: its queues and campaigns."""

    name: Name
    description: str = ""
    queues: list[Name] = Field(default_factory=list)
    campaigns: list[Name] = Field(default_factory=list)  # the same link as `campaign set --group`


class ActivityCodeSpec(Spec):
    code: str = Field(pattern=r"^[0-9]{1,4}$", description="dialled after the pause feature code")
    name: Name
    kind: Literal["pause", "disposition"] = "pause"
    productive: bool = False


class RelaxRule(Spec):
    """After a contact has waited ``after_seconds``, accept agents with at least ``min_level``."""

    after_seconds: Annotated[int, Field(ge=1, le=86_400)]
    min_level: Level


class OverflowRule(Spec):
    when: OverflowWhen
    after_seconds: int | None = Field(None, ge=1, le=86_400)
    length: int | None = Field(None, ge=1, le=100_000)
    action: OverflowAction
    target: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> OverflowRule:
        if self.when == OverflowWhen.WAIT and self.after_seconds is None:
            raise ValueError("when=wait needs after_seconds")
        if self.when == OverflowWhen.LENGTH and self.length is None:
            raise ValueError("when=length needs length")
        if self.action in (OverflowAction.QUEUE, OverflowAction.IVR) and not self.target:
            raise ValueError(f"action={self.action} needs a target")
        return self


class QueueSpec(Spec):
    name: Name
    service: Name
    strategy: Strategy = Field(Strategy.LONGEST_IDLE, validate_default=True)
    priority: int = Field(0, ge=0, le=100)
    wrapup_seconds: Seconds = 10
    ring_timeout_seconds: int = Field(15, ge=5, le=300)
    max_wait_seconds: int | None = Field(None, ge=10, le=86_400)
    sl_threshold_seconds: int | None = Field(None, ge=1, le=3600)
    record: bool = False  # the older switch: on means recording=always when recording is not set
    recording: RecordingPolicy | None = None  # always | on-demand | never | sampled
    recording_sample_percent: int = Field(100, ge=1, le=100)  # with recording=sampled
    record_legs: bool = False  # besides the mixed recording, the caller's and the agent's audio each apart
    moh_class: str = Field("default", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    announce_every_seconds: int = Field(30, ge=0, le=600)
    rona_pause: bool = True
    survey: bool = False  # after the agent hangs up, the caller goes to the NPS survey
    skills: dict[Name, Level] = Field(default_factory=dict)
    relax: list[RelaxRule] = Field(default_factory=list)
    overflow: list[OverflowRule] = Field(default_factory=list)


class Membership(Spec):
    queue: Name
    penalty: int = Field(0, ge=0, le=100)
    weight: int = Field(1, ge=1, le=1000)


class AgentSpec(Spec):
    name: Name
    display_name: str = ""
    extension: str = Field(pattern=r"^[0-9]{2,8}$", description="2 to 8 digits")
    sip_password: SecretStr | None = Field(None, min_length=8)
    skills: dict[Name, Level] = Field(default_factory=dict)
    queues: list[Membership] = Field(default_factory=list)
    groups: list[Name] = Field(default_factory=list)
    capacity: dict[Channel, Annotated[int, Field(ge=0, le=50)]] = Field(
        default_factory=_one_call, validate_default=True
    )
    voice_blocks_others: bool = True

    @field_validator("sip_password")
    @classmethod
    def _writable_in_pjsip_conf(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and re.search(r"[\s;\[\]\"#]", value.get_secret_value()):
            raise ValueError("no spaces, quotes, '#', ';' or brackets (it is written into pjsip.conf)")
        return value

    @field_validator("queues", mode="before")
    @classmethod
    def _plain_queue_names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"queue": item} if isinstance(item, str) else item for item in value]
        return value


class UserSpec(Spec):
    username: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._@-]{0,63}$")]
    role: Role
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$")
    agent: Name | None = None
    password_hash: SecretStr | None = None
    groups: list[Name] = Field(default_factory=list)  # a supervisor scoped to these groups' agents; none: all


class PromptSpec(Spec):
    """Text of a tenant prompt; `tvoxcc prompts render` turns it into 8 kHz audio per language."""

    name: Name
    language: str = Field("en", pattern=r"^[a-z]{2}$")
    text: str = Field(min_length=1, max_length=2000)


class TrunkSpec(Spec):
    """A PJSIP trunk to the PSTN provider, rendered into pjsip.conf (endpoint + aor, no identify section)."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
    host: str = Field(pattern=r"^[A-Za-z0-9.-]{1,253}$")
    port: int = Field(5060, ge=1, le=65535)


class OutboundSpec(Spec):
    """How the tenant's calls out (callbacks) are dialled: ``endpoint`` with ``{number}`` in it."""

    endpoint: str = Field(pattern=r"^[A-Za-z]+/[A-Za-z0-9_.@{}+-]*\{number\}[A-Za-z0-9_.@{}+-]*$")
    caller_id: str = Field("", pattern=r"^\+?[0-9]{0,20}$")
    trunk: TrunkSpec | None = None
    ring_seconds: int = Field(30, ge=5, le=300)
    # What agents dial before a number to call out from their phones (tvoxcc.voice.agent_calls); None: "9".
    agent_prefix: str | None = Field(None, pattern=r"^[0-9*#]{1,4}$")


class CampaignSpec(Spec):
    """A campaign's settings as code (tvoxcc.campaigns.doc_store turns them into the store's). Its status and
    records are not here: `campaign start|pause|stop` and `campaign import-list` own them. Its groups are the
    groups' ``campaigns`` (one link, written from the group side)."""

    name: Name
    mode: DialMode = DialMode.PROGRESSIVE
    rule: AbandonRule = AbandonRule.US_30_DAYS
    caller_id: str = Field("", pattern=r"^\+?[0-9]{0,20}$")
    window: str = Field("mon-fri 09:00-20:00", description="when to call, in the called party's time")
    max_attempts: int = Field(3, ge=1, le=100)
    # busy, no-answer, machine, failed or a disposition -> seconds until the next attempt (null: never)
    retry: dict[str, Annotated[float, Field(ge=0)] | None] = Field(default_factory=dict)
    ring_seconds: float = Field(25.0, ge=MIN_RING_S, le=300)
    machine: MachineAction = MachineAction.RETRY
    amd_false_positives: float = Field(0.05, ge=0, le=1)
    queues: list[Name] = Field(default_factory=list)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        try:
            return format_window(parse_window(value))
        except SpecError as exc:
            raise ValueError(str(exc)) from None


class ScriptSpec(Spec):
    """A call script as code (tvoxcc.scripts: the same keys as a `script add` file), for one campaign or one queue of
    the document. Upserted on import, never removed by it (the answers agents gave would go with it): `script
    remove` owns that."""

    name: Name
    campaign: Name | None = None
    queue: Name | None = None
    title: str = ""
    start: str
    steps: dict[str, Any]

    @model_validator(mode="after")
    def _a_script(self) -> ScriptSpec:
        if (self.campaign is None) == (self.queue is None):
            raise ValueError("a script is for one campaign (campaign:) or one queue (queue:)")
        _script, problems = read_script(self.script_data())
        if problems:
            raise ValueError("; ".join(f"{path}: {why}" if path else why for path, why in problems))
        return self

    def script_data(self) -> dict[str, Any]:
        """What tvoxcc.scripts.read reads (a `script add` file's keys)."""
        data: dict[str, Any] = {"name": self.name}
        if self.title:
            data["title"] = self.title
        return data | {"start": self.start, "steps": self.steps}


class TenantDoc(Spec):
    tenant: TenantSpec
    services: list[ServiceSpec] = Field(default_factory=list)
    skills: list[SkillSpec] = Field(default_factory=list)
    activity_codes: list[ActivityCodeSpec] = Field(default_factory=list)
    groups: list[GroupSpec] = Field(default_factory=list)
    queues: list[QueueSpec] = Field(default_factory=list)
    agents: list[AgentSpec] = Field(default_factory=list)
    users: list[UserSpec] = Field(default_factory=list)
    prompts: list[PromptSpec] = Field(default_factory=list)
    ivrs: list[Flow] = Field(default_factory=list)
    outbound: OutboundSpec | None = None  # none: callbacks stay stored, nobody is dialled
    # Upserted on import, never removed by it (a campaign's records would go with it): `campaign` commands.
    campaigns: list[CampaignSpec] = Field(default_factory=list)
    # Upserted on import, never removed by it (agents' answers go with a script): `script` commands.
    scripts: list[ScriptSpec] = Field(default_factory=list)

    def dump(self, *, with_secrets: bool = False) -> dict[str, Any]:
        """Plain data for YAML/JSON, defaults left out so a file stays short and readable."""
        data = self.model_dump(mode="json", exclude_defaults=True, by_alias=True)
        data["tenant"] = self.tenant.model_dump(mode="json", exclude_none=True)
        for agent_data, agent in zip(data.get("agents", []), self.agents, strict=True):
            if with_secrets and agent.sip_password is not None:
                agent_data["sip_password"] = agent.sip_password.get_secret_value()
            else:
                agent_data.pop("sip_password", None)
            agent_data["queues"] = [
                m.queue if (m.penalty, m.weight) == (0, 1) else m.model_dump(exclude_defaults=True)
                for m in agent.queues
            ]
            if not agent_data["queues"]:
                del agent_data["queues"]
        for user_data, user in zip(data.get("users", []), self.users, strict=True):
            if with_secrets and user.password_hash is not None:
                user_data["password_hash"] = user.password_hash.get_secret_value()
            else:
                user_data.pop("password_hash", None)
        return data
