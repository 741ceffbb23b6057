"""Traces in the record store: sampling (failures and fallbacks always kept), tracing off
while the ledger still writes, and content kept only when asked — capped and redacted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.simulator.testing import SimulatorHandle

SECRET = "sk-or-trace-secret-abcdef0123456789"


def _settings(tmp_path: Path, simulator: SimulatorHandle, **extra: Any):  # type: ignore[no-untyped-def]
    return make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY=SECRET,
        OPENROUTER_BASE_URL=simulator.base_url,
        **extra,
    )


def _ask(url: str, trace_id: str, model: str = "gpt-4o-mini", content: str = "hi") -> None:
    response = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": content}]},
        headers={"X-Trace-Id": trace_id},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def _trace(url: str, trace_id: str) -> httpx.Response:
    return httpx.get(f"{url}/api/admin/gateway/traces/{trace_id}", headers=AUTH, timeout=30)


def _ledger_traces(url: str) -> set[str]:
    page = httpx.get(f"{url}/api/admin/gateway/ledger", headers=AUTH, timeout=30).json()
    return {row["trace_id"] for row in page["rows"]}


def test_unsampled_requests_leave_no_trace_but_fallbacks_always_do(
    simulator: SimulatorHandle, tmp_path: Path
) -> None:
    simulator.set_scenario(
        {
            "zero_latency": True,
            "models": {
                "google/gemini-2.0-flash-exp": {"faults": [{"kind": "error", "status": 503}]}
            },
        }
    )
    settings = _settings(
        tmp_path, simulator, GATEWAY_TRACE_SAMPLING_RATE=0.0, GATEWAY_MAX_RETRIES=0
    )
    with serve(create_app(settings)) as (url, _):
        _ask(url, "plain-1")
        _ask(url, "fell-back-1", model="gemini-2.5-pro")
        assert _trace(url, "plain-1").status_code == 404
        kept = _trace(url, "fell-back-1")
        assert kept.status_code == 200
        assert kept.json()["model"] != "gemini-2.5-pro"
        assert {"plain-1", "fell-back-1"} <= _ledger_traces(url)


def test_tracing_off_keeps_the_ledger(simulator: SimulatorHandle, tmp_path: Path) -> None:
    simulator.set_scenario({"zero_latency": True})
    with serve(create_app(_settings(tmp_path, simulator, ENABLE_MODEL_TRACING=False))) as (url, _):
        _ask(url, "untraced-1")
        assert _trace(url, "untraced-1").status_code == 404
        assert "untraced-1" in _ledger_traces(url)


def test_content_only_when_asked_capped_and_redacted(
    simulator: SimulatorHandle, tmp_path: Path
) -> None:
    simulator.set_scenario({"zero_latency": True})
    prompt = f"my key is {SECRET} " + "x" * 500
    with serve(create_app(_settings(tmp_path, simulator))) as (url, _):
        _ask(url, "no-content", content=prompt)
        trace = _trace(url, "no-content").json()
        assert "prompt" not in trace and "completion" not in trace
    with serve(create_app(_settings(tmp_path, simulator, GATEWAY_TRACE_CONTENT_CHARS=200))) as (
        url,
        _,
    ):
        _ask(url, "with-content", content=prompt)
        response = _trace(url, "with-content")
        trace = response.json()
        (message,) = trace["prompt"]
        assert message["role"] == "user"
        assert message["content"].startswith("my key is ")
        assert len(message["content"]) < 260
        assert trace["completion"]
        assert SECRET not in response.text
        assert SECRET[:8] not in response.text
