"""An upstream 429 cools its model down on every replica: two served apps sharing the real
Redis and the simulator; after A got a 429 with Retry-After, neither A nor B calls that model
again until the cool-down ends (they answer from its fallbacks) — nor does a replica C started
during the cool-down."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve
from tests.shared_services import REDIS_URL

from llm_gateway.app import create_app
from llm_gateway.limits.upstream_headers import exhausted_wait, reset_seconds
from llm_gateway.settings import Settings
from llm_gateway.simulator.testing import SimulatorHandle

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
MESSAGES = [{"role": "user", "content": "hello"}]
MINI = "openai/gpt-4o-mini"


def _settings(tmp_path: Path, name: str, upstream: str, prefix: str) -> Settings:
    config_dir = tmp_path / f"config-{name}"
    shutil.copytree(REPO_CONFIG, config_dir, ignore=shutil.ignore_patterns("scenarios"))
    home = tmp_path / name
    home.mkdir()
    return make_settings(
        home,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY="sk-or-limits-test-0000",
        OPENROUTER_BASE_URL=upstream,
        GATEWAY_CONFIG_DIR=config_dir,
        DATABASE_URL="",
        REDIS_URL=REDIS_URL,
        GATEWAY_REDIS_PREFIX=prefix,
        GATEWAY_HEARTBEAT_S=0.2,
        GATEWAY_MAX_RETRIES=0,
        GATEWAY_RATE_LIMIT_WAIT_MS=0,
    )


@pytest.fixture
def replicas(tmp_path: Path, simulator: SimulatorHandle, redis_prefix: str) -> Iterator[list[str]]:
    simulator.set_scenario({"zero_latency": True})
    urls = []
    with ExitStack() as stack:
        for name in ("a", "b"):
            settings = _settings(tmp_path, name, simulator.base_url, redis_prefix)
            url, _ = stack.enter_context(serve(create_app(settings)))
            urls.append(url)
        deadline = time.monotonic() + 5
        while _replicas(urls[0]) < 2:
            assert time.monotonic() < deadline, "the replicas did not see each other"
            time.sleep(0.05)
        yield urls


def _replicas(url: str) -> int:
    return int(httpx.get(f"{url}/api/admin/gateway/replicas", headers=AUTH).json()["count"])


def _answer(url: str) -> str:
    response = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": MESSAGES},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.headers["x-gateway-model"]


def test_an_upstream_429_cools_the_model_down_on_every_replica(
    replicas: list[str], simulator: SimulatorHandle, tmp_path: Path, redis_prefix: str
) -> None:
    a, b = replicas
    simulator.set_scenario(
        {
            "zero_latency": True,
            "models": {
                MINI: {"faults": [{"kind": "error", "status": 429, "retry_after": 30, "times": 1}]}
            },
        }
    )
    assert _answer(a) != "gpt-4o-mini"  # the 429, then its fallback
    assert len(simulator.attempts(MINI)) == 1
    time.sleep(0.3)  # the cool-down event reaches B
    simulator.clear()
    assert _answer(b) != "gpt-4o-mini"
    assert _answer(a) != "gpt-4o-mini"
    assert simulator.attempts(MINI) == []  # neither called it while it cools down
    health = httpx.get(f"{b}/api/admin/gateway/health", headers=AUTH).json()
    assert 25 < health["state"]["rate_limits"]["cooling_down"]["gpt-4o-mini"] <= 30

    # A replica that starts during the cool-down missed the event: it reads the hold.
    late = _settings(tmp_path, "c", simulator.base_url, redis_prefix)
    with serve(create_app(late)) as (c, _):
        health = httpx.get(f"{c}/api/admin/gateway/health", headers=AUTH).json()
        assert 25 < health["state"]["rate_limits"]["cooling_down"]["gpt-4o-mini"] <= 30
        assert _answer(c) != "gpt-4o-mini"
        assert simulator.attempts(MINI) == []


def test_rate_limit_headers_say_how_long_until_the_reset() -> None:
    assert (
        exhausted_wait(
            {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2m0s"}
        )
        == 120
    )
    assert (
        exhausted_wait({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "20ms"})
        == 0.02
    )
    assert (
        exhausted_wait({"x-ratelimit-remaining-requests": "12", "x-ratelimit-reset-requests": "1s"})
        is None
    )
    assert exhausted_wait({}) is None
    now = 1_700_000_000.0
    openrouter = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int((now + 7) * 1000))}
    assert exhausted_wait(openrouter, lambda: now) == pytest.approx(7)
    assert exhausted_wait({"x-ratelimit-remaining": "0"}) == 1.0  # no reset given
    assert reset_seconds("1h2m3.5s") == pytest.approx(3723.5)
    assert reset_seconds("soon") is None
