"""Process settings, read once from the environment (and an optional ``.env`` file).

Every variable of the migration guide keeps its exact name. Values out of range are refused at
start-up by pydantic with the variable's name in the message; keys are ``SecretStr`` so they never
print.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


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

    # Gradual rollout flags (Phase 5)
    GATEWAY_V2_ENABLED: bool = False
    GATEWAY_V2_PERCENTAGE: int = Field(default=0, ge=0, le=100)
    OPENROUTER_FALLBACK_ENABLED: bool = True

    # Where things live
    GATEWAY_CONFIG_DIR: Path = Field(
        default=DEFAULT_CONFIG_DIR,
        validation_alias=AliasChoices("GATEWAY_CONFIG_DIR", "CONFIG_DIR"),
    )
    REDIS_URL: SecretStr | None = None
    DATABASE_URL: SecretStr = SecretStr("sqlite+aiosqlite:///./data/llm_gateway.sqlite3")

    # HTTP service
    GATEWAY_HOST: str = "127.0.0.1"
    GATEWAY_PORT: int = Field(default=8000, ge=1, le=65535)
    GATEWAY_WORKERS: int = Field(default=1, ge=1, le=64)
    GATEWAY_ADMIN_TOKEN: SecretStr | None = None
    GATEWAY_API_KEYS: SecretStr | None = None
    GATEWAY_API_KEYS_FILE: Path | None = None
    GATEWAY_MAX_BODY_BYTES: int = Field(default=4 * 1024 * 1024, ge=1024)
    GATEWAY_SHUTDOWN_GRACE_S: float = Field(default=30.0, ge=0)
    GATEWAY_LOG_LEVEL: str = "WARNING"
    GATEWAY_ACCESS_LOG_SAMPLE_RATE: float = Field(default=0.0, ge=0.0, le=1.0)
    GATEWAY_AUDIT_LOG_FILE: Path | None = Path("data/audit.jsonl")

    # Deadlines (seconds), defaults for every model; policies and nodes may override
    GATEWAY_HEADERS_TIMEOUT: float = Field(default=10.0, gt=0)
    GATEWAY_FIRST_TOKEN_TIMEOUT: float = Field(default=10.0, gt=0)
    GATEWAY_STALL_TIMEOUT: float = Field(default=10.0, gt=0)
    GATEWAY_TOTAL_TIMEOUT: float = Field(default=120.0, gt=0)

    # Circuit breaker
    GATEWAY_CIRCUIT_FAILURE_THRESHOLD: int = Field(default=5, ge=1)
    GATEWAY_CIRCUIT_COOLDOWN_S: float = Field(default=2.0, gt=0)
    GATEWAY_CIRCUIT_MAX_COOLDOWN_S: float = Field(default=30.0, gt=0)

    # Simulated provider (used when no provider key is set)
    GATEWAY_SIMULATE: bool | None = None

    @field_validator("GATEWAY_LOG_LEVEL")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("OPENROUTER_API_KEY", "REDIS_URL", "GATEWAY_ADMIN_TOKEN", "GATEWAY_API_KEYS")
    @classmethod
    def _blank_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        return value

    @property
    def config_dir(self) -> Path:
        return self.GATEWAY_CONFIG_DIR

    @property
    def use_simulator(self) -> bool:
        """True when requests go to the built-in simulated provider instead of OpenRouter."""
        if self.GATEWAY_SIMULATE is not None:
            return self.GATEWAY_SIMULATE
        return self.OPENROUTER_API_KEY is None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()


def reset_settings_cache() -> None:
    """Forget the cached settings (tests that change the environment call this)."""
    get_settings.cache_clear()
