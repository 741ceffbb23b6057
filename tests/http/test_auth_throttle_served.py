"""Failed authentication is throttled per client address and per presented credential, over a
real socket: past a burst of failures wrong tokens get 429 with Retry-After, a valid token is
still served at once, one log line marks the burst, and the throttle's memory is bounded."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.http.conftest import ADMIN_TOKEN, SimulatedProviders, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.auth_throttle import AuthThrottled, FailedAuthThrottle
from llm_gateway.gateway import build_gateway, set_llm_gateway
from llm_gateway.routes.deps import reset_process_services

HEALTH = "/api/admin/gateway/health"
CLIENT_KEY = "client-key-abcdef0123456789"


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    settings = make_settings(tmp_path, GATEWAY_API_KEYS=f"app:{CLIENT_KEY}")
    gateway = build_gateway(settings, providers=SimulatedProviders())
    try:
        with serve(create_app(settings, gateway=gateway)) as (base, _):
            yield base
    finally:
        set_llm_gateway(None)
        reset_process_services()


def test_wrong_admin_tokens_are_throttled_and_the_valid_one_still_served(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="llm_gateway.auth")
    with httpx.Client(base_url=url, timeout=10) as client:
        started = time.monotonic()
        statuses = [
            client.get(HEALTH, headers={"Authorization": f"Bearer wrong-{n}"}).status_code
            for n in range(50)
        ]
        elapsed = time.monotonic() - started
        throttled = client.get(HEALTH, headers={"Authorization": "Bearer wrong-again"})
        valid = client.get(HEALTH, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert statuses[:10] == [403] * 10
    # Past the burst of 10, one more try a second is let through (a slow machine's 50 tries
    # may span a few seconds); every other is throttled.
    assert set(statuses[10:]) <= {403, 429}
    assert statuses[10:].count(403) <= int(elapsed) + 1, (elapsed, statuses)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    assert throttled.json()["error"]["code"] == "too_many_failed_auth"
    assert valid.status_code == 200, "a valid caller is never slowed"
    burst_lines = [r for r in caplog.records if "throttling failed authentication" in r.message]
    assert len(burst_lines) <= 2  # once per burst (address and credential), not per request


def test_wrong_client_keys_are_throttled_too(url: str) -> None:
    body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(base_url=url, timeout=10) as client:
        statuses = [
            client.post(
                "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer bad{n}"}
            ).status_code
            for n in range(15)
        ]
        good = client.post(
            "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {CLIENT_KEY}"}
        )
    assert statuses[:10] == [401] * 10
    assert statuses[-1] == 429
    assert good.status_code == 200


def test_the_throttle_is_bounded_and_forgets_refilled_clients() -> None:
    now = [0.0]
    throttle = FailedAuthThrottle(burst=3, per_second=1.0, max_entries=1000, clock=lambda: now[0])
    for n in range(100_000):
        throttle.failed(f"address:10.0.{n // 256}.{n % 256}")
    assert len(throttle) == 1000
    for _ in range(3):
        throttle.failed("address:x")
    with pytest.raises(AuthThrottled) as info:
        throttle.failed("address:x")
    assert info.value.retry_after >= 1
    now[0] += 5.0  # refilled
    throttle.failed("address:x")
