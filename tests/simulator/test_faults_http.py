"""Every fault kind over real HTTP, and which attempts a fault hits (times, after_attempts,
probability, outages)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from llm_gateway.simulator.testing import SimulatorHandle

USER = [{"role": "user", "content": "Describe a quiet meadow."}]
BODY = {"model": "vendor/model", "messages": USER}
STREAM = {**BODY, "stream": True}


@pytest.fixture
def http(simulator: SimulatorHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=simulator.base_url, timeout=5, verify=False) as client:
        yield client


def inject(simulator: SimulatorHandle, *faults: dict[str, Any], **scenario: Any) -> None:
    """Give every model these faults (zero latency unless ``scenario`` says otherwise)."""
    simulator.set_scenario(
        {"zero_latency": True, **scenario, "models": {"*": {"faults": list(faults)}}}
    )


def read_stream(client: httpx.Client, body: dict[str, Any], **kwargs: Any) -> tuple[list[str], Any]:
    """The stream's lines until it ends, and the exception that ended it (None if clean)."""
    lines: list[str] = []
    try:
        with client.stream("POST", "/chat/completions", json=body, **kwargs) as response:
            for line in response.iter_lines():
                if line:
                    lines.append(line)
    except httpx.HTTPError as exc:
        return lines, exc
    return lines, None


def contents(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if line.startswith("data: {") and _is_json(line[6:]):
            event = json.loads(line[6:])
            if event.get("choices") and event["choices"][0]["delta"].get("content"):
                out.append(event["choices"][0]["delta"]["content"])
    return out


def test_rate_limit_with_retry_after_then_success(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    inject(simulator, {"kind": "error", "status": 429, "retry_after": 2, "times": 1})
    response = http.post("/chat/completions", json=BODY)
    assert response.status_code == 429 and response.headers["retry-after"] == "2"
    assert response.json()["error"]["code"] == 429
    assert http.post("/chat/completions", json=BODY).status_code == 200
    assert [a.fault for a in simulator.attempts()] == ["error", None]
    assert [a.status for a in simulator.attempts()] == [429, 200]


def test_openai_sdk_sees_rate_limit_errors(simulator: SimulatorHandle) -> None:
    inject(simulator, {"kind": "error", "status": 429, "retry_after": 0.5})
    client = openai.OpenAI(
        base_url=simulator.base_url,
        api_key="k",
        max_retries=0,
        http_client=httpx.Client(verify=False),
    )
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="vendor/model", messages=USER)  # type: ignore[arg-type]
    assert caught.value.response.headers["retry-after"] == "0.5"
    client.close()


@pytest.mark.parametrize("status", [402, 408, 500, 502, 503])
def test_error_statuses_use_openrouter_error_bodies(
    simulator: SimulatorHandle, http: httpx.Client, status: int
) -> None:
    inject(simulator, {"kind": "error", "status": status, "code": status, "message": "boom"})
    response = http.post("/chat/completions", json=STREAM)
    assert response.status_code == status and "retry-after" not in response.headers
    assert response.json()["error"]["code"] == status
    assert response.json()["error"]["message"] == "boom"


def test_connection_reset_before_headers(simulator: SimulatorHandle, http: httpx.Client) -> None:
    inject(simulator, {"kind": "connection_reset", "times": 1})
    with pytest.raises(httpx.TransportError):
        http.post("/chat/completions", json=BODY)
    assert http.post("/chat/completions", json=BODY).status_code == 200
    assert simulator.attempts()[0].status == 0


def test_hang_up_closes_without_a_response(simulator: SimulatorHandle, http: httpx.Client) -> None:
    inject(simulator, {"kind": "hang_up", "times": 1})
    with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
        http.post("/chat/completions", json=BODY)
    assert http.post("/chat/completions", json=BODY).status_code == 200
    assert [(a.fault, a.status) for a in simulator.attempts()] == [("hang_up", 0), (None, 200)]


def test_no_response_holds_the_connection(simulator: SimulatorHandle, http: httpx.Client) -> None:
    inject(simulator, {"kind": "no_response", "times": 1, "hold_s": 5})
    with pytest.raises(httpx.ReadTimeout):
        http.post("/chat/completions", json=BODY, timeout=httpx.Timeout(5, read=0.2))
    assert http.post("/chat/completions", json=BODY).status_code == 200


def test_slow_first_token_sends_processing_comments_first(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    inject(simulator, {"kind": "slow_first_token", "delay_s": 0.15}, processing_interval_s=0.05)
    lines, error = read_stream(http, STREAM)
    assert error is None and lines[-1] == "data: [DONE]"
    first_data = next(i for i, line in enumerate(lines) if line.startswith("data:"))
    assert lines[:first_data] == [": OPENROUTER PROCESSING"] * first_data
    assert first_data >= 2
    with pytest.raises(httpx.ReadTimeout):
        http.post("/chat/completions", json=BODY, timeout=httpx.Timeout(5, read=0.05))


def test_stream_cut_after_n_tokens(simulator: SimulatorHandle, http: httpx.Client) -> None:
    inject(simulator, {"kind": "stream_cut", "after_tokens": 3})
    lines, error = read_stream(http, STREAM)
    assert isinstance(error, httpx.RemoteProtocolError)
    assert len(contents(lines)) == 3 and "data: [DONE]" not in lines
    assert "".join(contents(lines)) == " ".join(simulator.answer_for(USER).split()[:3])


def test_stream_stall_keeps_quiet_then_resumes(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    inject(simulator, {"kind": "stream_stall", "after_tokens": 2, "stall_s": 0.4})
    lines, error = read_stream(http, STREAM, timeout=httpx.Timeout(5, read=0.1))
    assert isinstance(error, httpx.ReadTimeout) and len(contents(lines)) == 2
    lines, error = read_stream(http, STREAM)
    assert error is None and "".join(contents(lines)) == simulator.answer_for(USER)


def test_malformed_chunk_at_position(simulator: SimulatorHandle, http: httpx.Client) -> None:
    inject(simulator, {"kind": "malformed_chunk", "after_tokens": 2})
    lines, error = read_stream(http, STREAM)
    data = [line[6:] for line in lines if line.startswith("data: ")]
    bad = [i for i, d in enumerate(data) if d != "[DONE]" and not _is_json(d)]
    assert error is None and bad == [2] and data[-1] == "[DONE]"
    assert "".join(contents(lines)) == simulator.answer_for(USER)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_missing_done_closes_cleanly(simulator: SimulatorHandle, http: httpx.Client) -> None:
    inject(simulator, {"kind": "missing_done"})
    with http.stream("POST", "/chat/completions", json=STREAM) as response:
        assert response.headers["connection"] == "close"
        lines = [line for line in response.iter_lines() if line]
    assert "data: [DONE]" not in lines
    assert '"finish_reason":"stop"' in lines[-2] and '"usage"' in lines[-1]


def test_context_length_fault_and_natural_limit(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    inject(simulator, {"kind": "context_length", "times": 1})
    response = http.post("/chat/completions", json={**BODY, "max_tokens": 100})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].startswith("This endpoint's maximum context length is 128000 tokens.")
    assert "100 in the output" in error["message"] and error["metadata"] == {"provider_name": None}
    simulator.set_scenario({"zero_latency": True, "models": {"*": {"context_length": 10}}})
    long = {"model": "m/x", "messages": [{"role": "user", "content": "z" * 100}]}
    assert http.post("/chat/completions", json=long).status_code == 400
    assert simulator.attempts()[-1].fault == "context_length"


def test_moderation_is_a_403_with_reasons(simulator: SimulatorHandle, http: httpx.Client) -> None:
    inject(simulator, {"kind": "moderation", "reasons": ["harassment"]})
    response = http.post("/chat/completions", json=BODY)
    assert response.status_code == 403
    metadata = response.json()["error"]["metadata"]
    assert metadata["reasons"] == ["harassment"]
    assert metadata["flagged_input"] == USER[0]["content"]
    assert metadata["model_slug"] == "vendor/model" and metadata["provider_name"] == "Vendor"


def test_content_filter_is_a_400(simulator: SimulatorHandle, http: httpx.Client) -> None:
    inject(simulator, {"kind": "content_filter"})
    response = http.post("/chat/completions", json=BODY)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "content_filter"


def test_finish_content_filter_stops_the_answer(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    inject(simulator, {"kind": "finish_content_filter", "after_tokens": 2})
    lines, _ = read_stream(http, STREAM)
    assert len(contents(lines)) == 2 and '"finish_reason":"content_filter"' in lines[-3]
    body = http.post("/chat/completions", json=BODY).json()
    assert body["choices"][0]["finish_reason"] == "content_filter"


def test_mid_stream_error_event(simulator: SimulatorHandle, http: httpx.Client) -> None:
    inject(simulator, {"kind": "stream_error", "after_tokens": 2, "message": "upstream died"})
    lines, error = read_stream(http, STREAM)
    assert error is None and "data: [DONE]" not in lines
    event = json.loads(lines[-1][6:])
    assert event["error"] == {"code": "server_error", "message": "upstream died"}
    assert event["choices"][0]["finish_reason"] == "error" and len(contents(lines)) == 2
    body = http.post("/chat/completions", json=BODY).json()
    assert body["error"]["message"] == "upstream died"


def test_openai_sdk_raises_on_the_mid_stream_error_event(simulator: SimulatorHandle) -> None:
    inject(simulator, {"kind": "stream_error", "after_tokens": 1})
    client = openai.OpenAI(
        base_url=simulator.base_url,
        api_key="k",
        max_retries=0,
        http_client=httpx.Client(verify=False),
    )
    with pytest.raises(openai.APIError):
        for _ in client.chat.completions.create(model="vendor/model", messages=USER, stream=True):  # type: ignore[arg-type]
            pass
    client.close()


def test_model_down_for_a_while_then_recovers(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    inject(simulator, {"kind": "down", "duration_s": 0.3, "after_attempts": 1})
    assert http.post("/chat/completions", json=BODY).status_code == 200
    assert http.post("/chat/completions", json=BODY).status_code == 503
    assert http.post("/chat/completions", json=BODY).status_code == 503
    time.sleep(0.35)
    assert http.post("/chat/completions", json=BODY).status_code == 200


def test_prefill_rejection_only_hits_prefilled_requests(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    inject(simulator, {"kind": "reject_prefill"})
    prefilled = {**BODY, "messages": [*USER, {"role": "assistant", "content": "A quiet"}]}
    assert http.post("/chat/completions", json=BODY).status_code == 200
    response = http.post("/chat/completions", json=prefilled)
    assert response.status_code == 400 and "prefill" in response.json()["error"]["message"]
    simulator.set_scenario({"zero_latency": True, "models": {"*": {"rejects_prefill": True}}})
    assert http.post("/chat/completions", json=prefilled).status_code == 400


def test_times_and_after_attempts_count_per_model(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    inject(simulator, {"kind": "error", "status": 500, "times": 2, "after_attempts": 1})
    statuses = [http.post("/chat/completions", json=BODY).status_code for _ in range(4)]
    other = http.post("/chat/completions", json={**BODY, "model": "other/model"}).status_code
    assert statuses == [200, 500, 500, 200] and other == 200
    assert [a.attempt for a in simulator.attempts()] == [1, 2, 3, 4, 1]


def test_probability_is_seeded_and_reproducible(
    simulator: SimulatorHandle, http: httpx.Client
) -> None:
    def pattern() -> list[int]:
        inject(simulator, {"kind": "error", "status": 502, "probability": 0.5}, seed=11)
        return [http.post("/chat/completions", json=BODY).status_code for _ in range(30)]

    first = pattern()
    assert first == pattern()
    assert 5 <= first.count(502) <= 25


def test_first_matching_fault_wins(simulator: SimulatorHandle, http: httpx.Client) -> None:
    inject(
        simulator,
        {"kind": "error", "status": 429, "times": 1},
        {"kind": "error", "status": 503, "times": 1},
    )
    statuses = [http.post("/chat/completions", json=BODY).status_code for _ in range(3)]
    assert statuses == [429, 503, 200]
