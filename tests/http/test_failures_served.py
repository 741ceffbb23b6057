"""Upstream failures as a caller of the served gateway sees them: httpx and the openai SDK →
uvicorn (loopback) → create_app(settings) → OpenRouter provider over HTTP → the simulator.

Complements tests/gateway/test_failures_http.py (the core against the simulator) with what only
shows through the HTTP front: status and error body, whether the caller's leaving stops the
work, and how many upstream calls one request costs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.simulator.testing import SimulatorHandle

PRIMARY = "google/gemini-2.0-flash-exp"  # gemini-2.5-pro → claude-sonnet → gpt-4o → ...
MESSAGES: list[Any] = [{"role": "user", "content": "Explain circuit breakers in one paragraph."}]
UPSTREAM_KEY = "sk-or-upstream-secret-7777"


def faults(model: str, *specs: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"zero_latency": True, **top, "models": {model: {"faults": list(specs)}}}


@pytest.fixture
def gateway_url(simulator: SimulatorHandle, tmp_path: Path, request: Any) -> Iterator[str]:
    env = getattr(request, "param", {})
    settings = make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY=UPSTREAM_KEY,
        OPENROUTER_BASE_URL=simulator.base_url,
        GATEWAY_HEADERS_TIMEOUT=30.0,
        GATEWAY_FIRST_TOKEN_TIMEOUT=30.0,
        GATEWAY_TOTAL_TIMEOUT=60.0,
        **env,
    )
    with serve(create_app(settings)) as (base_url, _server):
        yield base_url


def chat(url: str, *, stream: bool = False) -> httpx.Response:
    body = {"model": "gemini-2.5-pro", "messages": MESSAGES, "stream": stream}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)


def data_events(text: str) -> list[Any]:
    lines = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    return [line if line == "[DONE]" else orjson.loads(line) for line in lines]


def model_health(url: str, model: str) -> dict[str, Any]:
    health = httpx.get(f"{url}/api/admin/gateway/health", headers=AUTH, timeout=5).json()
    state: dict[str, Any] = health["models"][model]
    return state


def test_content_filter_mid_stream_is_not_continued_on_another_model(
    simulator: SimulatorHandle, gateway_url: str
) -> None:
    simulator.set_scenario(faults(PRIMARY, {"kind": "finish_content_filter", "after_tokens": 3}))
    response = chat(gateway_url, stream=True)
    events = data_events(response.text)

    assert response.status_code == 200
    assert "[DONE]" not in events
    assert events[-1]["error"]["code"] == "content_filter"
    assert [a.model for a in simulator.attempts()] == [PRIMARY]  # no other model finished it


def upstream_connections(simulator: SimulatorHandle) -> int:
    """Connections open at the simulator, this health request's own excluded."""
    health = httpx.get(f"{simulator.origin}/_simulator/health", timeout=5).json()
    return int(health["connections"]) - 1


@pytest.mark.parametrize(
    ("path", "stream"),
    [
        ("/v1/chat/completions", False),
        ("/v1/chat/completions", True),
        ("/api/chat/default", False),
        ("/api/chat/default/stream", True),
    ],
)
def test_caller_leaving_before_the_answer_cancels_the_upstream_call(
    simulator: SimulatorHandle, gateway_url: str, path: str, stream: bool
) -> None:
    simulator.set_scenario(faults(PRIMARY, {"kind": "no_response", "hold_s": 60}))
    body: dict[str, Any] = {"messages": MESSAGES, "stream": stream}
    if path.startswith("/v1"):
        body["model"] = "gemini-2.5-pro"
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{gateway_url}{path}", json=body, timeout=0.5)

    deadline = time.monotonic() + 10  # the gateway would otherwise wait 30 s for headers
    while upstream_connections(simulator) > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream_connections(simulator) == 0
    assert [a.model for a in simulator.attempts()] == [PRIMARY]  # no fallback for nobody
    assert model_health(gateway_url, "gemini-2.5-pro")["consecutive_failures"] == 0


def test_rejected_key_is_not_tried_on_every_model_of_the_provider(
    simulator: SimulatorHandle, gateway_url: str
) -> None:
    simulator.set_scenario(
        faults("*", {"kind": "error", "status": 401, "message": f"Invalid key {UPSTREAM_KEY}"})
    )
    for _ in range(3):
        response = chat(gateway_url)
        assert response.status_code == 502
        assert "401" in response.json()["error"]["message"]
        assert UPSTREAM_KEY not in response.text
    assert [a.model for a in simulator.attempts()] == [PRIMARY] * 3  # one call per request
    assert model_health(gateway_url, "gemini-2.5-pro")["consecutive_failures"] == 0


def test_prompt_too_long_for_every_model_is_the_callers_400(
    simulator: SimulatorHandle, gateway_url: str
) -> None:
    simulator.set_scenario(faults("*", {"kind": "context_length"}))
    client = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key="x", max_retries=2)
    with client, pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gemini-2.5-pro", messages=MESSAGES)
    assert info.value.code == "context_length_exceeded"
    windows = [a.model for a in simulator.attempts()]
    assert len(windows) == len(set(windows))  # each larger window once, no client retry


@pytest.mark.parametrize(
    "gateway_url",
    [{"GATEWAY_CIRCUIT_FAILURE_THRESHOLD": 1, "GATEWAY_CIRCUIT_COOLDOWN_S": 30.0}],
    indirect=True,
)
def test_every_circuit_open_is_a_503_that_says_so(
    simulator: SimulatorHandle, gateway_url: str
) -> None:
    simulator.set_scenario(faults("*", {"kind": "error", "status": 503}))
    for _ in range(20):  # each request opens the circuits of the models it tried
        simulator.clear()
        response = chat(gateway_url)
        if not simulator.attempts():
            break
    else:
        pytest.fail("some model was still called after 20 requests")
    assert response.status_code == 503
    assert "circuit open" in response.json()["error"]["message"]


def circuits_not_closed(url: str) -> list[str]:
    health = httpx.get(f"{url}/api/admin/gateway/health", headers=AUTH, timeout=5).json()
    return [m for m, state in health["models"].items() if state["consecutive_failures"]]


def test_a_request_that_breaks_every_model_cannot_open_their_circuits(
    simulator: SimulatorHandle, gateway_url: str
) -> None:
    """The upstream breaks (500, same message) on whatever model this one request is sent
    to: the chain stops at the second identical failure, the caller is told it looks like the
    request, and no model's health suffers — so the next caller is served by its own model."""
    simulator.set_scenario(faults("*", {"kind": "error", "status": 500, "message": "crash"}))
    for _ in range(3):
        simulator.clear()
        response = chat(gateway_url)
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "request_suspected"
        assert len(simulator.attempts()) <= 2 * 4  # two models, each with its retries
        assert len({a.model for a in simulator.attempts()}) == 2
    assert circuits_not_closed(gateway_url) == []
    simulator.set_scenario({"zero_latency": True})
    answer = chat(gateway_url)
    assert answer.status_code == 200
    assert answer.json()["model"] == "gemini-2.5-pro"


def test_different_requests_failing_the_same_way_is_the_provider_and_counts(
    simulator: SimulatorHandle, gateway_url: str
) -> None:
    simulator.set_scenario(faults("*", {"kind": "error", "status": 500, "message": "crash"}))
    codes = []
    for n in range(4):
        body = {"model": "gemini-2.5-pro", "messages": [{"role": "user", "content": f"q{n}"}]}
        response = httpx.post(f"{gateway_url}/v1/chat/completions", json=body, timeout=30)
        codes.append(response.json()["error"].get("code"))
    assert codes[:2] == ["request_suspected"] * 2
    assert codes[-1] == "all_models_failed"  # from the third distinct body on: an outage
    assert "gemini-2.5-pro" in circuits_not_closed(gateway_url)


@pytest.mark.parametrize(
    "gateway_url",
    [{"GATEWAY_CIRCUIT_FAILURE_THRESHOLD": 1, "GATEWAY_RETRY_DELAY": 1.0}],
    indirect=True,
)
def test_no_retry_wait_once_the_circuit_is_open(
    simulator: SimulatorHandle, gateway_url: str
) -> None:
    """A failed probe (or an open circuit) sends the request to the fallback at once, without
    the retry backoff a transient failure would get."""
    simulator.set_scenario(faults(PRIMARY, {"kind": "error", "status": 503}))
    chat(gateway_url)  # opens the primary's circuit (threshold 1)
    time.sleep(1.1)  # the cool-down (1 s) passes: the next request is the probe
    simulator.clear()
    response = chat(gateway_url)
    attempts = simulator.attempts()
    assert response.status_code == 200
    assert attempts[0].model == PRIMARY
    assert [a.model for a in attempts].count(PRIMARY) == 1, "a failed probe is not retried"


def test_a_recovered_stream_is_one_answer_with_every_attempt_billed(
    simulator: SimulatorHandle, gateway_url: str
) -> None:
    """Cut after 12 tokens and continued on the fallback: every chunk names the model that
    began the answer, and the usage (with its cost) covers the cut attempt's share too."""
    simulator.set_scenario(faults(PRIMARY, {"kind": "stream_cut", "after_tokens": 12}))
    body = {
        "model": "gemini-2.5-pro",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 40,
    }
    response = httpx.post(f"{gateway_url}/v1/chat/completions", json=body, timeout=30)
    events = [e for e in data_events(response.text) if e != "[DONE]"]
    assert data_events(response.text)[-1] == "[DONE]"
    assert {e["model"] for e in events} == {"gemini-2.5-pro"}
    text = "".join(
        (e["choices"][0]["delta"].get("content") or "") for e in events if e.get("choices")
    )
    usage = next(e for e in events if e.get("usage"))
    assert usage["usage"]["cost"] > 0
    continued = [a for a in simulator.attempts() if a.model != PRIMARY]
    assert continued, "the answer was continued on another model"
    # The continuation alone reports fewer tokens than the whole answer; the caller's usage
    # adds what the cut attempt generated.
    assert usage["usage"]["completion_tokens"] >= len(text.split()) // 2
    assert usage["x_gateway"]["models"][0] == "gemini-2.5-pro"
    assert len(usage["x_gateway"]["models"]) == 2


@pytest.mark.parametrize("gateway_url", [{"GATEWAY_MAX_RETRIES": 2}], indirect=True)
def test_a_failed_request_is_one_log_line_not_one_per_retry(
    simulator: SimulatorHandle, gateway_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    simulator.set_scenario(faults("*", {"kind": "error", "status": 503}))
    with caplog.at_level(logging.WARNING, logger="llm_gateway.gateway"):
        response = chat(gateway_url)
    assert response.status_code >= 500
    tried = len(simulator.attempts())
    assert tried > 1  # retried and fell back: several upstream calls ...
    lines = [r for r in caplog.records if "failed after" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]  # ... one line
    assert f"failed after {tried} attempt(s)" in lines[0].getMessage()
    assert "503" in lines[0].getMessage()
    assert UPSTREAM_KEY not in lines[0].getMessage()
