"""``/metrics`` of the served gateway against its own ledger: mixed requests (retried, fallen
back, streamed, surfaced errors, refused) through uvicorn → OpenRouter provider → the HTTP
simulator; the counters parsed with prometheus-client's parser must tell what the ledger rows
(read through ``GET /api/admin/gateway/ledger``) tell."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.settings import Settings
from llm_gateway.simulator.testing import SimulatorHandle

PRIMARY = "google/gemini-2.0-flash-exp"  # gemini-2.5-pro → claude-sonnet → ...
GPT4O = "openai/gpt-4o"
MESSAGES: list[Any] = [{"role": "user", "content": "Count the metrics, please."}]

Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(url: str) -> Samples:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    out: Samples = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[sample.name].append((sample.labels, sample.value))
    return out


def total(samples: Samples, name: str, **match: str) -> float:
    return sum(
        value
        for labels, value in samples.get(name, [])
        if all(labels.get(k) == v for k, v in match.items())
    )


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for labels, value in samples.get(name, []):
        out[labels[label]] += value
    return dict(out)


def send_mixed(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(5):  # the first is retried once on the primary, then falls back
            answer = client.post(
                "/v1/chat/completions", json={"model": "gemini-2.5-pro", "messages": MESSAGES}
            )
            assert answer.status_code == 200, answer.text
        for _ in range(4):
            body = {
                "model": "formatter",
                "messages": MESSAGES,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            answer = client.post("/v1/chat/completions", json=body)
            assert answer.status_code == 200 and "[DONE]" in answer.text
        for _ in range(2):
            answer = client.post(
                "/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES}
            )
            assert answer.status_code == 400, answer.text  # surfaced, not retried
        refused = client.post("/v1/chat/completions", json={"model": "nope", "messages": MESSAGES})
        assert refused.status_code == 404
        empty = client.post("/v1/chat/completions", json={"model": "writer", "messages": []})
        assert empty.status_code == 400  # refused by the HTTP front's validation


def ledger_rows(url: str) -> list[dict[str, Any]]:
    page = httpx.get(f"{url}/api/admin/gateway/ledger", headers=AUTH, timeout=10).json()
    rows: list[dict[str, Any]] = page["rows"]
    return rows


def mixed_gateway_settings(simulator: SimulatorHandle, tmp_path: Path, **extra: Any) -> Settings:
    """The simulator set for ``send_mixed`` (the primary fails twice with 503, gpt-4o always
    with 400) and a gateway on it with a SQLite record store."""
    simulator.set_scenario(
        {
            "zero_latency": True,
            "models": {
                PRIMARY: {"faults": [{"kind": "error", "status": 503, "times": 2}]},
                GPT4O: {"faults": [{"kind": "error", "status": 400, "message": "bad"}]},
            },
        }
    )
    return make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY="sk-or-test-metrics",
        OPENROUTER_BASE_URL=simulator.base_url,
        GATEWAY_MAX_RETRIES=1,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'records.sqlite3'}",
        GATEWAY_DB_AUTO_MIGRATE=True,
        GATEWAY_LEDGER_SPOOL_DIR=tmp_path / "spool",
        **extra,
    )


@pytest.mark.timeout(60)
def test_metrics_counters_match_the_ledger(simulator: SimulatorHandle, tmp_path: Path) -> None:
    settings = mixed_gateway_settings(simulator, tmp_path)
    with serve(create_app(settings)) as (url, _):
        send_mixed(url)
        rows = ledger_rows(url)
        samples = scrape(url)

    assert len(rows) == 12  # the empty request never reached the gateway: in neither
    requests = "llm_gateway_requests_total"
    assert total(samples, requests) == len(rows)
    statuses = Counter(row["status"] for row in rows)
    assert statuses == {"ok": 9, "error": 2, "refused": 1}
    assert by_label(samples, requests, "status") == {k: float(v) for k, v in statuses.items()}
    models = Counter(row["model"] or "none" for row in rows)
    assert by_label(samples, requests, "model") == {k: float(v) for k, v in models.items()}

    cost: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row["model"] and Decimal(row["cost_usd"]):
            cost[row["model"]] += Decimal(row["cost_usd"])
    exposed = by_label(samples, "llm_gateway_cost_usd_total", "model")
    assert set(exposed) == set(cost) and len(cost) >= 2
    for model, usd in cost.items():
        assert exposed[model] == pytest.approx(float(usd), rel=1e-9)

    tokens = by_label(samples, "llm_gateway_tokens_total", "type")
    assert tokens["input"] == sum(row["input_tokens"] for row in rows) > 0
    assert tokens["output"] == sum(row["output_tokens"] for row in rows) > 0
    genai = "gen_ai_client_token_usage_sum"
    assert total(samples, genai, gen_ai_token_type="input") == tokens["input"]
    assert total(samples, genai, gen_ai_token_type="output") == tokens["output"]

    fallbacks = sum(1 for row in rows if row["fallback_used"])
    assert fallbacks == 1
    assert total(samples, "llm_gateway_fallbacks_total") == fallbacks
    assert (
        total(
            samples,
            "llm_gateway_fallbacks_total",
            from_model="gemini-2.5-pro",
            to_model="claude-sonnet",
        )
        == 1
    )
    assert total(samples, "llm_gateway_retries_total", model="gemini-2.5-pro") == 1
    assert total(samples, "llm_gateway_attempts_total") == sum(row["attempts"] for row in rows)

    streamed = sum(1 for row in rows if row["ttft_ms"] is not None)
    assert streamed == 4
    assert total(samples, "llm_gateway_time_to_first_token_seconds_count") == streamed
    assert total(samples, "gen_ai_server_time_to_first_token_seconds_count") == streamed
    durations = "llm_gateway_request_duration_seconds_count"
    assert total(samples, durations) == statuses["ok"] + statuses["error"]

    capabilities = by_label(samples, "llm_gateway_capability_requests_total", "capability")
    assert capabilities["streaming"] == sum(
        1 for row in rows if "streaming" in (row["capabilities"] or "").split(",")
    )
    assert total(samples, "llm_gateway_ledger_rows_written_total") == len(rows)
    assert total(samples, "llm_gateway_build_info") == 1
    assert len(samples["llm_gateway_config_info"]) == 1
    assert total(samples, "process_resident_memory_bytes") > 0
    assert samples["python_info"] and samples["python_gc_collections_total"]
