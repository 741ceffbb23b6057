"""Process settings, read once from the environment (and an optional ``.env`` file).

Every variable of the migration guide keeps its exact name. Values out of range are refused at
start-up: :func:`load_settings` raises :class:`~llm_gateway.errors.ConfigError` with one issue per
bad variable (``environment: GATEWAY_V2_PERCENTAGE: must be <= 100 (got '150')``). Keys and URLs
that may carry credentials are ``SecretStr``: they never print, and their values are never echoed
in an error. docs/configuration.md lists every variable with its default and range.
"""

from __future__ import annotations

import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from llm_gateway.errors import ConfigError, ConfigIssue


class Settings(BaseSettings):
    """Everything the gateway reads from its environment. Field name == variable name."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
        validate_default=True,
    )

    # OpenRouter integration
    OPENROUTER_API_KEY: SecretStr | None = None
    OPENROUTER_BASE_URL: str = "https://openrouter.ai/api/v1"
    OPENROUTER_HTTP_REFERER: str = "https://github.com/llm-gateway/llm-gateway"
    OPENROUTER_APP_TITLE: str = "llm-gateway"

    # Gateway configuration
    ENABLE_GATEWAY_V2: bool = True
    ENABLE_MODEL_TRACING: bool = True
    ENABLE_COST_OPTIMIZATION: bool = True

    # Fallback settings
    GATEWAY_FALLBACK_ENABLED: bool = True
    GATEWAY_MAX_RETRIES: int = Field(default=3, ge=0, le=20)
    GATEWAY_RETRY_DELAY: float = Field(default=1.0, ge=0, le=60)

    # Performance monitoring
    GATEWAY_METRICS_RETENTION_HOURS: int = Field(default=168, ge=1, le=24 * 366)
    GATEWAY_TRACE_SAMPLING_RATE: float = Field(default=1.0, ge=0.0, le=1.0)
    # Prompt and completion text in traces: off unless set (characters kept of each; redacted)
    GATEWAY_TRACE_CONTENT_CHARS: int = Field(default=0, ge=0, le=100_000)
    # OpenTelemetry traces over OTLP/HTTP when set (extra ``otel``; see docs/observability.md)
    OTEL_EXPORTER_OTLP_ENDPOINT: str | None = None
    OTEL_SERVICE_NAME: str = "llm-gateway"

    # Gradual rollout flags (Phase 5)
    GATEWAY_V2_ENABLED: bool = False
    GATEWAY_V2_PERCENTAGE: int = Field(default=0, ge=0, le=100)
    # Shadow traffic: a share of v1 calls also run through v2 in the background, compared
    GATEWAY_V2_SHADOW_PERCENTAGE: int = Field(default=0, ge=0, le=100)
    GATEWAY_V2_SHADOW_BUDGET_USD: float = Field(default=5.0, ge=0, le=1_000_000)
    GATEWAY_V2_SHADOW_CONCURRENCY: int = Field(default=4, ge=1, le=1_000)
    OPENROUTER_FALLBACK_ENABLED: bool = True
    # Per-node shares of v2 (``writer=10,formatter=50``), shadowed share, the guard's schedule
    GATEWAY_V2_NODE_PERCENTAGES: str | None = Field(
        default=None,
        max_length=4096,
        pattern=r"^\s*([A-Za-z0-9_.:-]+\s*=\s*(100|[0-9]{1,2})\s*(,\s*|$))*$",
    )
    GATEWAY_ROLLOUT_FILE: Path | None = None  # default: rollout.yaml in the config dir, if any
    GATEWAY_ROLLOUT_GUARD_INTERVAL_S: float = Field(default=30.0, ge=0.05, le=3600)
    # How often a legacy client on a remote gateway (GATEWAY_URL) reads its live flags
    GATEWAY_ROLLOUT_POLL_S: float = Field(default=1.0, ge=0.05, le=300)
    # Its v1 calls' records, reported to that gateway: queued at most, flushed at exit for
    GATEWAY_V1_REPORT_QUEUE_MAX: int = Field(default=10_000, ge=10, le=1_000_000)
    GATEWAY_V1_REPORT_EXIT_S: float = Field(default=5.0, ge=0, le=300)

    # Where things live
    GATEWAY_CONFIG_DIR: Path | None = Field(
        default=None,  # then ./config, then the packaged defaults (config/location.py)
        validation_alias=AliasChoices("GATEWAY_CONFIG_DIR", "CONFIG_DIR"),
    )
    REDIS_URL: SecretStr | None = None
    GATEWAY_REDIS_PREFIX: str = Field(default="llmg", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    GATEWAY_REDIS_CLUSTER: bool = False
    GATEWAY_HEARTBEAT_S: float = Field(default=1.0, gt=0, le=60)
    GATEWAY_CONTROL_RESYNC_S: float = Field(default=5.0, gt=0, le=3600)
    # Budgets (budgets.yaml): during a state-store outage, closed refuses budgeted requests,
    # local keeps each replica to its share of what remained
    GATEWAY_BUDGET_FAIL_MODE: Literal["closed", "local"] = "closed"
    GATEWAY_BUDGET_SYNC_MS: int = Field(default=200, ge=10, le=10_000)
    GATEWAY_BUDGET_LEASE_TTL_S: float = Field(default=10.0, ge=1, le=3600)
    # How long a request over a rate limit may wait for capacity (then fallback, then 429)
    GATEWAY_RATE_LIMIT_WAIT_MS: int = Field(default=500, ge=0, le=60_000)
    # The record store (ledger, traces, admin state); empty: none, everything in memory only
    DATABASE_URL: SecretStr = SecretStr("sqlite+aiosqlite:///./data/llm_gateway.sqlite3")
    GATEWAY_DB_AUTO_MIGRATE: bool = False  # PostgreSQL: migrate at start-up (SQLite always does)
    GATEWAY_LEDGER_SPOOL_DIR: Path = Path("data/spool")
    GATEWAY_LEDGER_QUEUE_MAX: int = Field(default=20_000, ge=100, le=10_000_000)
    GATEWAY_LEDGER_FLUSH_MS: int = Field(default=150, ge=10, le=5_000)
    # A batch the database has not committed this long after its oldest row is spooled (0: spool
    # every batch first); a row is durable within this + the flush interval of its request.
    GATEWAY_LEDGER_SPOOL_AFTER_MS: int = Field(default=400, ge=0, le=60_000)
    GATEWAY_LEDGER_SPOOL_MAX_MB: int = Field(default=1024, ge=1)
    GATEWAY_LEDGER_RETENTION_DAYS: int = Field(default=400, ge=1, le=3660)
    GATEWAY_TRACE_QUEUE_MAX: int = Field(default=5_000, ge=10)
    # The response cache (opt-in per node or per request; entries in the state store)
    GATEWAY_CACHE_MAX_TTL_S: float = Field(default=86_400.0, gt=0, le=7 * 24 * 3600)
    GATEWAY_CACHE_MAX_ENTRY_BYTES: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)

    # HTTP service
    GATEWAY_HOST: str = "127.0.0.1"
    GATEWAY_PORT: int = Field(default=8000, ge=1, le=65535)
    GATEWAY_WORKERS: int = Field(default=1, ge=1, le=64)
    GATEWAY_ADMIN_TOKEN: SecretStr | None = None
    GATEWAY_API_KEYS: SecretStr | None = None
    GATEWAY_API_KEYS_FILE: Path | None = None
    GATEWAY_MAX_BODY_BYTES: int = Field(default=4 * 1024 * 1024, ge=1024)
    GATEWAY_MAX_HEADER_BYTES: int = Field(default=64 * 1024, ge=4096, le=16 * 1024 * 1024)
    GATEWAY_MAX_HEADER_COUNT: int = Field(default=100, ge=8, le=10_000)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated
    # addresses or CIDRs, "*" for any); none by default, so a client cannot pick its address.
    GATEWAY_TRUSTED_PROXIES: str = ""
    GATEWAY_ALLOW_PROVIDER_ROUTING_FIELDS: bool = False
    GATEWAY_MAX_UPSTREAM_BODY_BYTES: int = Field(default=16 * 1024 * 1024, ge=64 * 1024)
    GATEWAY_SHUTDOWN_GRACE_S: float = Field(default=30.0, ge=0)
    GATEWAY_REQUEST_RECEIVE_TIMEOUT_S: float = Field(default=60.0, gt=0)
    GATEWAY_LOG_LEVEL: str = "WARNING"
    GATEWAY_LOG_FORMAT: Literal["text", "json"] = "text"
    GATEWAY_ACCESS_LOG_SAMPLE_RATE: float = Field(default=0.0, ge=0.0, le=1.0)
    GATEWAY_AUDIT_LOG_FILE: Path | None = Path("data/audit.jsonl")

    # Deadlines (seconds), defaults for every model; policies and nodes may override
    GATEWAY_HEADERS_TIMEOUT: float = Field(default=10.0, gt=0)
    GATEWAY_FIRST_TOKEN_TIMEOUT: float = Field(default=10.0, gt=0)
    GATEWAY_STALL_TIMEOUT: float = Field(default=10.0, gt=0)
    GATEWAY_TOTAL_TIMEOUT: float = Field(default=120.0, gt=0)

    # Circuit breaker
    GATEWAY_CIRCUIT_FAILURE_THRESHOLD: int = Field(default=5, ge=1)
    GATEWAY_CIRCUIT_COOLDOWN_S: float = Field(default=1.0, gt=0)
    GATEWAY_CIRCUIT_MAX_COOLDOWN_S: float = Field(default=5.0, gt=0)

    # Alerts (alerts.yaml; docs/alerts.md): the rules file (default: alerts.yaml in the config
    # directory when there is one), how often one replica evaluates them, delivery targets
    GATEWAY_ALERTS_FILE: Path | None = None
    GATEWAY_ALERTS_INTERVAL_S: float = Field(default=30.0, gt=0, le=3600)
    GATEWAY_ALERTS_DELIVERY_ATTEMPTS: int = Field(default=4, ge=1, le=10)
    GATEWAY_ALERTS_DELIVERY_BACKOFF_S: float = Field(default=1.0, ge=0, le=60)
    GATEWAY_ALERTS_SOURCE: str | None = Field(default=None, max_length=255)
    PAGERDUTY_ROUTING_KEY: SecretStr | None = None
    GATEWAY_PAGERDUTY_URL: str = "https://events.pagerduty.com/v2/enqueue"
    SLACK_WEBHOOK_URL: SecretStr | None = None
    GATEWAY_ALERTS_WEBHOOK_URL: SecretStr | None = None
    GATEWAY_ALERTS_WEBHOOK_SECRET: SecretStr | None = None
    GATEWAY_SMTP_HOST: str | None = None
    GATEWAY_SMTP_PORT: int = Field(default=587, ge=1, le=65535)
    GATEWAY_SMTP_STARTTLS: bool = True
    GATEWAY_SMTP_USERNAME: str | None = None
    GATEWAY_SMTP_PASSWORD: SecretStr | None = None
    GATEWAY_ALERTS_EMAIL_FROM: str = "llm-gateway@localhost"
    GATEWAY_ALERTS_EMAIL_TO: str = ""  # comma-separated addresses

    # The built-in simulated provider: an explicit opt-in (make run sets it when no key is set)
    GATEWAY_SIMULATE: bool = False
    # production: refuse to start without every provider key, or with the simulator
    GATEWAY_ENV: Literal["development", "production"] = "development"

    @field_validator("GATEWAY_LOG_LEVEL")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("OPENROUTER_BASE_URL", "GATEWAY_PAGERDUTY_URL")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+\S*", value):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator(
        "OPENROUTER_API_KEY",
        "REDIS_URL",
        "GATEWAY_ADMIN_TOKEN",
        "GATEWAY_API_KEYS",
        "PAGERDUTY_ROUTING_KEY",
        "SLACK_WEBHOOK_URL",
        "GATEWAY_ALERTS_WEBHOOK_URL",
        "GATEWAY_ALERTS_WEBHOOK_SECRET",
        "GATEWAY_SMTP_PASSWORD",
    )
    @classmethod
    def _blank_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        return value

    @property
    def config_dir(self) -> Path:
        """The directory the config files are read from (see :mod:`llm_gateway.config.location`)."""
        return self.config_location[0]

    @cached_property
    def config_location(self) -> tuple[Path, str]:
        """``(directory, which source)``: GATEWAY_CONFIG_DIR, ./config or the packaged defaults."""
        from llm_gateway.config.location import resolve_config_dir

        return resolve_config_dir(self.GATEWAY_CONFIG_DIR)

    def secret_values(self) -> list[str]:
        """Every secret these settings carry: keys, tokens, URL passwords (for redaction)."""
        from llm_gateway.redaction import url_password, url_secret_parts

        values = [
            self.OPENROUTER_API_KEY,
            self.GATEWAY_ADMIN_TOKEN,
            self.PAGERDUTY_ROUTING_KEY,
            self.GATEWAY_ALERTS_WEBHOOK_SECRET,
            self.GATEWAY_SMTP_PASSWORD,
        ]
        out = [v.get_secret_value() for v in values if v is not None]
        # A webhook URL is a credential (Slack's carries its token in the path): its secret
        # parts are masked, not the whole URL (whose scheme and host prefix any URL shares).
        for hook in (self.SLACK_WEBHOOK_URL, self.GATEWAY_ALERTS_WEBHOOK_URL):
            if hook is not None:
                out.extend(url_secret_parts(hook.get_secret_value()))
        for url in (self.REDIS_URL, self.DATABASE_URL):
            password = url_password(url.get_secret_value()) if url is not None else None
            if password:
                out.append(password)
        return out

    @property
    def database_url(self) -> str | None:
        """The record store's URL, or None when ``DATABASE_URL`` is empty (memory only)."""
        value = self.DATABASE_URL.get_secret_value().strip()
        return value or None

    @property
    def use_simulator(self) -> bool:
        """True when requests go to the built-in simulated provider instead of OpenRouter
        (``GATEWAY_SIMULATE=true``; never implied by a missing key)."""
        return self.GATEWAY_SIMULATE


_SECRET_FIELDS = frozenset(
    name for name, info in Settings.model_fields.items() if "SecretStr" in repr(info.annotation)
)


def load_settings(**values: object) -> Settings:
    """Read the environment (``values`` take precedence, as keyword arguments to Settings).

    Raises ConfigError with one ``environment: VARIABLE: problem`` issue per invalid variable.
    """
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_issues(exc)) from None


def _issues(exc: ValidationError) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors(include_url=False):
        variable = ".".join(str(part) for part in error["loc"]) or "environment"
        message = error["msg"].removeprefix("Value error, ")
        if variable not in _SECRET_FIELDS and "input" in error:
            message += f" (got {str(error['input'])!r})"
        issues.append(ConfigIssue("environment", variable, message))
    return issues


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once. Raises ConfigError naming every invalid variable."""
    return load_settings()


def reset_settings_cache() -> None:
    """Forget the cached settings (tests that change the environment call this)."""
    get_settings.cache_clear()
