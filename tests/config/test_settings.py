"""Settings: every variable of the guide by its exact name; out-of-range values refused at
start-up naming the variable; secrets never printed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from llm_gateway.errors import ConfigError
from llm_gateway.settings import Settings, get_settings, load_settings, reset_settings_cache

GUIDE_ENV = {
    "OPENROUTER_API_KEY": "sk-or-test-0123456789",
    "OPENROUTER_BASE_URL": "https://openrouter.ai/api/v1",
    "ENABLE_GATEWAY_V2": "true",
    "ENABLE_MODEL_TRACING": "true",
    "ENABLE_COST_OPTIMIZATION": "true",
    "GATEWAY_FALLBACK_ENABLED": "true",
    "GATEWAY_MAX_RETRIES": "3",
    "GATEWAY_RETRY_DELAY": "1.0",
    "GATEWAY_METRICS_RETENTION_HOURS": "168",
    "GATEWAY_TRACE_SAMPLING_RATE": "1.0",
    "GATEWAY_V2_ENABLED": "false",
    "GATEWAY_V2_PERCENTAGE": "0",
    "OPENROUTER_FALLBACK_ENABLED": "true",
}


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No stray .env file and none of the variables set, whatever the machine has."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CONFIG_DIR", raising=False)
    reset_settings_cache()
    yield
    reset_settings_cache()


def test_guide_defaults() -> None:
    settings = load_settings()
    assert settings.OPENROUTER_API_KEY is None
    assert settings.OPENROUTER_BASE_URL == "https://openrouter.ai/api/v1"
    assert settings.GATEWAY_MAX_RETRIES == 3
    assert settings.GATEWAY_RETRY_DELAY == 1.0
    assert settings.GATEWAY_METRICS_RETENTION_HOURS == 168
    assert settings.GATEWAY_TRACE_SAMPLING_RATE == 1.0
    assert settings.GATEWAY_V2_ENABLED is False  # the guide's Settings class
    assert settings.GATEWAY_V2_PERCENTAGE == 0
    assert settings.OPENROUTER_FALLBACK_ENABLED is True
    assert not settings.use_simulator  # no key is no reason to simulate: an explicit opt-in
    assert settings.GATEWAY_ENV == "development"


def test_every_guide_variable_is_read_by_its_exact_name(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = {
        **GUIDE_ENV,
        "OPENROUTER_BASE_URL": "http://127.0.0.1:8999/api/v1",
        "ENABLE_GATEWAY_V2": "false",
        "ENABLE_MODEL_TRACING": "false",
        "ENABLE_COST_OPTIMIZATION": "false",
        "GATEWAY_FALLBACK_ENABLED": "false",
        "GATEWAY_MAX_RETRIES": "5",
        "GATEWAY_RETRY_DELAY": "0.25",
        "GATEWAY_METRICS_RETENTION_HOURS": "24",
        "GATEWAY_TRACE_SAMPLING_RATE": "0.1",
        "GATEWAY_V2_ENABLED": "true",
        "GATEWAY_V2_PERCENTAGE": "25",
        "OPENROUTER_FALLBACK_ENABLED": "false",
    }
    for name, value in changed.items():
        monkeypatch.setenv(name, value)
    settings = get_settings()
    assert settings.OPENROUTER_API_KEY is not None
    assert settings.OPENROUTER_API_KEY.get_secret_value() == changed["OPENROUTER_API_KEY"]
    assert settings.OPENROUTER_BASE_URL == "http://127.0.0.1:8999/api/v1"
    flags = (
        "ENABLE_GATEWAY_V2",
        "ENABLE_MODEL_TRACING",
        "ENABLE_COST_OPTIMIZATION",
        "GATEWAY_FALLBACK_ENABLED",
        "OPENROUTER_FALLBACK_ENABLED",
    )
    assert [getattr(settings, flag) for flag in flags] == [False] * 5
    assert settings.GATEWAY_V2_ENABLED is True
    assert settings.GATEWAY_MAX_RETRIES == 5
    assert settings.GATEWAY_RETRY_DELAY == 0.25
    assert settings.GATEWAY_METRICS_RETENTION_HOURS == 24
    assert settings.GATEWAY_TRACE_SAMPLING_RATE == 0.1
    assert settings.GATEWAY_V2_PERCENTAGE == 25
    assert not settings.use_simulator


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("GATEWAY_V2_PERCENTAGE", "150", "Input should be less than or equal to 100 (got '150')"),
        ("GATEWAY_V2_PERCENTAGE", "-1", "Input should be greater than or equal to 0 (got '-1')"),
        ("GATEWAY_MAX_RETRIES", "-1", "Input should be greater than or equal to 0 (got '-1')"),
        ("GATEWAY_TRACE_SAMPLING_RATE", "2", "Input should be less than or equal to 1 (got '2')"),
        ("GATEWAY_RETRY_DELAY", "-0.5", "Input should be greater than or equal to 0 (got '-0.5')"),
        (
            "GATEWAY_METRICS_RETENTION_HOURS",
            "0",
            "Input should be greater than or equal to 1 (got '0')",
        ),
        (
            "ENABLE_GATEWAY_V2",
            "maybe",
            "Input should be a valid boolean, unable to interpret input (got 'maybe')",
        ),
        ("OPENROUTER_BASE_URL", "openrouter.ai", "must be an http:// or https:// URL (got "),
    ],
)
def test_out_of_range_value_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        get_settings()
    [issue] = caught.value.issues
    assert str(issue).startswith(f"environment: {variable}: {message}")


def test_every_bad_variable_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_V2_PERCENTAGE", "150")
    monkeypatch.setenv("GATEWAY_MAX_RETRIES", "-1")
    monkeypatch.setenv("GATEWAY_TRACE_SAMPLING_RATE", "2")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert sorted(issue.path for issue in caught.value.issues) == [
        "GATEWAY_MAX_RETRIES",
        "GATEWAY_TRACE_SAMPLING_RATE",
        "GATEWAY_V2_PERCENTAGE",
    ]


def test_plain_settings_construction_also_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_V2_PERCENTAGE", "150")
    with pytest.raises(ValueError, match="GATEWAY_V2_PERCENTAGE"):
        Settings()


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-or-very-secret-value"
    monkeypatch.setenv("OPENROUTER_API_KEY", secret)
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@127.0.0.1:6379/0")
    monkeypatch.setenv("GATEWAY_V2_PERCENTAGE", "150")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert secret not in str(caught.value)
    monkeypatch.delenv("GATEWAY_V2_PERCENTAGE")
    settings = load_settings()
    assert secret not in repr(settings) and "hunter2" not in repr(settings)
    assert secret not in str(settings.model_dump())


def test_blank_key_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "  ")
    assert load_settings().OPENROUTER_API_KEY is None


def test_config_dir_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(tmp_path))
    assert load_settings().config_dir == tmp_path
