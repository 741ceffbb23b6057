"""The secret scan: an upstream that echoes the provider key in every form (whole, upper- and
lower-cased, cut to any prefix of 8 or more characters), in error bodies, and mid-stream error
events; afterwards no configured secret — full, any prefix of 8 or more, any case — appears in
what callers got, in the logs, traces, health, the audit log or ``/metrics``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.http.conftest import ADMIN_TOKEN, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.simulator.testing import SimulatorHandle

KEY = "sk-or-v1-Zq8Kd0cafe4242deadbeefSECRET"
CLIENT_KEY = "client-key-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PRIMARY = "google/gemini-2.0-flash-exp"
ECHOES = [
    f"invalid key {KEY}",
    f"key {KEY.upper()} refused",
    f"key {KEY.lower()}",
    f"prefix {KEY[:8]}... and {KEY[:13]} and {KEY[:-1].upper()}",
]


def leaks(text: str) -> list[str]:
    """Every configured secret's prefix of 8 or more characters found in ``text``, any case."""
    lower = text.lower()
    found = []
    for secret in (KEY, CLIENT_KEY, ADMIN_TOKEN):
        if secret.lower()[:8] in lower:
            found.append(secret[:8])
    return found


@pytest.fixture
def url(simulator: SimulatorHandle, tmp_path: Path) -> Iterator[str]:
    settings = make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY=KEY,
        OPENROUTER_BASE_URL=simulator.base_url,
        GATEWAY_API_KEYS=f"app:{CLIENT_KEY}",
        GATEWAY_MAX_RETRIES=0,
    )
    with serve(create_app(settings)) as (base, _):
        yield base


def test_no_secret_survives_an_upstream_that_echoes_the_key(
    simulator: SimulatorHandle, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = {"Authorization": f"Bearer {CLIENT_KEY}"}
    seen: list[str] = []
    body: dict[str, Any] = {
        "model": "gemini-2.5-pro",
        "messages": [{"role": "user", "content": "hi"}],
    }
    for status in (400, 401, 500, 503):
        for echo in ECHOES:
            fault = {"kind": "error", "status": status, "message": echo}
            simulator.set_scenario({"zero_latency": True, "models": {"*": {"faults": [fault]}}})
            for stream in (False, True):
                answer = httpx.post(
                    f"{url}/v1/chat/completions",
                    json={**body, "stream": stream},
                    headers=client,
                    timeout=30,
                )
                seen.append(answer.text)
                seen.append(str(dict(answer.headers)))
    for echo in ECHOES:  # a mid-stream error event carrying the key
        fault = {"kind": "stream_error", "after_tokens": 2, "message": echo}
        simulator.set_scenario({"zero_latency": True, "models": {PRIMARY: {"faults": [fault]}}})
        answer = httpx.post(
            f"{url}/v1/chat/completions", json={**body, "stream": True}, headers=client
        )
        seen.append(answer.text)
    seen.append(httpx.get(f"{url}/api/admin/gateway/traces?hours=1&limit=1000", headers=ADMIN).text)
    seen.append(httpx.get(f"{url}/api/admin/gateway/health", headers=ADMIN).text)
    seen.append(httpx.get(f"{url}/api/admin/gateway/audit", headers=ADMIN).text)
    seen.append(httpx.get(f"{url}/metrics").text)
    seen.extend(record.getMessage() for record in caplog.records)
    seen.extend(record.exc_text or "" for record in caplog.records)
    assert any("[redacted]" in text for text in seen), "the echoes did reach the gateway"
    leaked = [(text[:200], leaks(text)) for text in seen if leaks(text)]
    assert leaked == []
