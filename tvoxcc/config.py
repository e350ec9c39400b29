"""Typed, validated settings: one TOML file, overridden by environment variables (pydantic-settings).

Environment overrides use ``TVOXCC_<SECTION>__<KEY>`` (double underscore between levels), e.g.
``TVOXCC_DATABASE__URL=postgresql://...`` or ``TVOXCC_ASTERISK__ARI_PASSWORD=...``; top-level keys are
``TVOXCC_<KEY>`` (``TVOXCC_DATA_DIR``). The environment wins over the file.
Secrets are ``SecretStr``: they print as ``**********`` in reprs, logs and ``--json`` output.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

DEFAULT_CONFIG_PATH = Path("/etc/tvoxcc/tvoxcc.toml")
ENV_PREFIX = "TVOXCC_"
NESTED = "__"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    # sqlite:///path/file.db (embedded default) or postgresql://user:pass@host:port/db
    url: SecretStr = SecretStr("sqlite:////var/lib/tvoxcc/tvoxcc.db")
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if not raw.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value


class AsteriskSettings(_Section):
    ari_url: str = "http://127.0.0.1:8088"
    ari_user: str = "tvoxcc"
    ari_password: SecretStr = SecretStr("change-me")
    ari_app: str = "tvoxcc"
    ami_host: str = "127.0.0.1"
    ami_port: int = Field(5038, ge=1, le=65535)
    ami_user: str = "tvoxcc"
    ami_secret: SecretStr = SecretStr("change-me")
    sip_host: str = "127.0.0.1"
    sip_port: int = Field(5060, ge=1, le=65535)
    rtp_start: int = Field(10000, ge=1024, le=65535)
    rtp_end: int = Field(10999, ge=1024, le=65535)
    # Where `tvoxcc asterisk render` writes configs when --out is not given.
    config_dir: Path = Path("/etc/asterisk")
    # Asterisk's sound folder; `tvoxcc prompts render` writes tvoxcc/<tenant>/<lang>/<name>.wav below it.
    sounds_dir: Path = Path("/usr/share/asterisk/sounds")
    # Where Asterisk writes recordings (astspooldir/recording): `contact export` and `contact erase` read them.
    recordings_dir: Path = Path("/var/spool/asterisk/recording")
    # SIP over TLS for the agents' phones beside UDP (sip_tls_port on sip_host); certificate and key by path as
    # Asterisk sees them. srtp: the agents' media encrypted (SDES keys travel in SIP, so TLS is required).
    sip_tls: bool = False
    sip_tls_port: int = Field(5061, ge=1, le=65535)
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    srtp: bool = False

    @model_validator(mode="after")
    def _tls_complete(self) -> AsteriskSettings:
        if self.sip_tls and (self.tls_cert_file is None or self.tls_key_file is None):
            raise ValueError("sip_tls needs tls_cert_file and tls_key_file")
        if self.srtp and not self.sip_tls:
            raise ValueError("srtp needs sip_tls (its keys travel in the SIP messages)")
        return self

    @field_validator("ari_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class AgiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(4573, ge=1, le=65535)
    request_timeout: float = Field(30.0, gt=0)


class MailAccount(_Section):
    tenant: str
    service: str
    imap_host: str
    imap_port: int = Field(993, ge=1, le=65535)
    imap_user: str
    imap_password: SecretStr
    imap_tls: Literal["ssl", "starttls", "none"] = "ssl"
    imap_cafile: Path | None = None  # PEM CA to verify the IMAP server with (default: the system CAs)
    folder: str = "INBOX"
    address: str


class SmtpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(587, ge=1, le=65535)
    user: str | None = None
    password: SecretStr | None = None
    tls: Literal["ssl", "starttls", "none"] = "starttls"
    cafile: Path | None = None  # PEM CA to verify the SMTP server with (default: the system CAs)


class MailSettings(_Section):
    smtp: SmtpSettings = SmtpSettings()
    accounts: tuple[MailAccount, ...] = ()
    # Per-sender rate limit: more than sender_limit mails within sender_window_minutes are rejected
    # as "rate-limited" (no ticket, no acknowledgement). 0 turns it off.
    sender_limit: int = Field(20, ge=0, le=100_000)
    sender_window_minutes: int = Field(10, ge=1, le=10_080)


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: Path | None = None


class LabSettings(_Section):
    # Kept outside the repo: the debootstrap root and its zstd tarball are ~100 MiB.
    cache_dir: Path = Path("/var/cache/tvoxcc-lab")
    mirror: str | None = None  # default: the first Debian mirror in this machine's apt sources


class WebSettings(_Section):
    """`tvoxcc web run`: the wallboard and the JSON API (tvoxcc.web)."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    # Signs the CSRF tokens of the login and logout forms. None: a random one per start (forms open
    # before a restart then need a reload).
    secret: SecretStr | None = None
    # `Authorization: Bearer <token>` for /metrics. None: /metrics answers loopback clients and admins only.
    metrics_token: SecretStr | None = None
    poll_interval: float = Field(0.2, gt=0, le=5)  # seconds between looks at the live snapshot table
    session_hours: float = Field(12.0, gt=0)
    secure_cookies: bool = False  # True behind HTTPS: the session cookie is then never sent in clear
    # Webchat limits per visitor: chats opened (or messages left) per minute from one address, messages
    # per minute in one chat (tvoxcc.web.chat).
    chat_opens_per_minute: int = Field(20, ge=1)
    chat_messages_per_minute: int = Field(60, ge=1)


class VoiceSettings(_Section):
    """Callbacks: how often a customer who does not answer is tried, and how often stored requests are read."""

    callback_attempts: int = Field(3, ge=1, le=20)
    callback_retry_seconds: float = Field(300.0, ge=1, le=86_400)
    callback_poll_seconds: float = Field(2.0, gt=0, le=3600)
    # How often the running ACD compares the stored queues and agents with its own and takes the changes.
    config_poll_seconds: float = Field(5.0, gt=0, le=3600)
    # How long the ACD's decisions without commands (an agent answered, a call ended) may wait to ride in the
    # next offer's commit (tvoxcc.acd.writer): ~1 commit a call instead of 3. 0: each is committed at once.
    acd_linger_seconds: float = Field(0.25, ge=0, le=3600)
    # PJSIP endpoints whose SIP MESSAGEs are customers' SMS (each tenant's outbound trunk is added), and how
    # often agents' SMS replies are looked for when no NOTIFY wakes the sender (SQLite).
    sms_endpoints: list[str] = ["caller"]
    sms_poll_seconds: float = Field(1.0, gt=0, le=3600)
    # With [[kamailio.nodes]]: how long a node's ARI may stay unreachable before its calls are ended in the store
    # (a websocket blip or a quick restart of the voice service's link must not end calls that are still up).
    node_lost_seconds: float = Field(5.0, gt=0, le=3600)
    # The ACD's lease (one voice run routes, a standby waits): a killed holder's lease is free at once, a holder
    # cut off from PostgreSQL stops acting within 2/3 of it and a standby takes over when it runs out.
    lease_seconds: float = Field(15.0, ge=3, le=300)


class TenantRecordingSettings(_Section):
    """One tenant's recordings: how long they are kept and the key that encrypts them at rest."""

    retention_days: int | None = Field(None, ge=1, le=36_500)  # None: the [recordings] default
    # AES-256-GCM key, base64 of 32 bytes, inline or in a file (the file may also hold the 32 raw bytes).
    # Neither set: the tenant's recordings are stored in clear.
    key: SecretStr | None = None
    key_file: Path | None = None


class RecordingSettings(_Section):
    """The recordings repository (tvoxcc.recordings)."""

    dir: Path | None = None  # None: <data_dir>/recordings
    retention_days: int | None = Field(None, ge=1, le=36_500)  # None: kept until deleted
    tenants: dict[str, TenantRecordingSettings] = {}


class AsteriskNode(_Section):
    """One Asterisk node behind Kamailio: its SIP, RTP, ARI and AMI use the [asterisk] ports on ``host``."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    host: str
    # The node's ARI; None: the [asterisk] ari_url's scheme and port on ``host`` (its user and password always).
    ari_url: str | None = None


class KamailioSettings(_Section):
    """Kamailio in front of N Asterisk nodes: registrar for the agents' phones, dispatcher for trunk calls."""

    sip_host: str = "127.0.0.1"
    sip_port: int = Field(5060, ge=1, le=65535)
    probe_seconds: int = Field(2, ge=1, le=300)  # OPTIONS to every node this often; one miss marks it down
    nodes: tuple[AsteriskNode, ...] = ()

    def node(self, name: str) -> AsteriskNode | None:
        return next((n for n in self.nodes if n.name == name), None)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=NESTED, extra="forbid", frozen=True, validate_default=False
    )

    data_dir: Path = Path("/var/lib/tvoxcc")
    database: DatabaseSettings = DatabaseSettings()
    asterisk: AsteriskSettings = AsteriskSettings()
    agi: AgiSettings = AgiSettings()
    mail: MailSettings = MailSettings()
    logging: LoggingSettings = LoggingSettings()
    lab: LabSettings = LabSettings()
    web: WebSettings = WebSettings()
    voice: VoiceSettings = VoiceSettings()
    recordings: RecordingSettings = RecordingSettings()
    kamailio: KamailioSettings = KamailioSettings()

    def redacted(self) -> dict[str, Any]:
        """A JSON-safe dump with every secret masked."""
        return self.model_dump(mode="json")


class ConfigError(Exception):
    """A config problem; ``problems`` holds one ``key: why`` line per bad key."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(ENV_PREFIX + "CONFIG")
    return Path(from_env) if from_env else DEFAULT_CONFIG_PATH


class _EnvironSource(EnvSettingsSource):
    """The env source reading a given mapping instead of ``os.environ`` (tests pass their own).

    ``_load_env_vars`` is the hook pydantic-settings' own dotenv source overrides; it has no public
    equivalent in 2.16. tests/test_config.py breaks if it changes.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name.lower(): value for name, value in self._environ.items()}


def _unknown_sections(environ: Mapping[str, str]) -> list[str]:
    """``TVOXCC_<SECTION>__KEY`` naming no section: pydantic-settings skips those, a typo must not pass silently."""
    problems = []
    for name in sorted(environ):
        if name.upper().startswith(ENV_PREFIX) and NESTED in name:
            section = name[len(ENV_PREFIX) :].split(NESTED, 1)[0].lower()
            if section not in Settings.model_fields:
                problems.append(f"{name}: no such section {section!r}")
    return problems


def _problems(error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"]) or "(top)"
        lines.append(f"{key}: {item['msg']}")
    return lines


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    require_file: bool = False,
) -> Settings:
    """Read the TOML file (missing is fine unless ``require_file``), apply env overrides, validate."""
    file = config_path(path)
    if require_file and not file.exists():
        raise ConfigError(str(file), ["file not found"])
    env = os.environ if environ is None else environ
    unknown = _unknown_sections(env)
    try:
        # Sources in priority order: the environment wins over the file.
        sources = (_EnvironSource(Settings, env), TomlConfigSettingsSource(Settings, toml_file=file))
        settings = Settings(_build_sources=(sources, {}))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(file), [f"not valid TOML: {exc}"]) from exc
    except OSError as exc:
        raise ConfigError(str(file), [f"cannot read: {exc.strerror}"]) from exc
    except ValidationError as exc:
        raise ConfigError(str(file), _problems(exc) + unknown) from exc
    if unknown:
        raise ConfigError(str(file), unknown)
    return settings
