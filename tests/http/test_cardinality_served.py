"""Client-chosen strings never grow the gateway: 20,000 distinct ``X-Gateway-Node`` values
(and as many trace ids) through the served app leave ``/metrics``, the cost-optimisation report,
the per-minute aggregates, the selection cache and the process's memory where 200 left them.
Unknown nodes are counted as ``default``; the caller's value is kept (capped) in the trace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.http.conftest import ADMIN_TOKEN, SimulatedProviders, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import LLMGateway, build_gateway, set_llm_gateway
from llm_gateway.routes.deps import reset_process_services

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
BODY = {"model": "auto", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, LLMGateway]]:
    settings = make_settings(tmp_path, GATEWAY_TRACE_SAMPLING_RATE=0.0)
    gateway = build_gateway(settings, providers=SimulatedProviders())
    try:
        with serve(create_app(settings, gateway=gateway)) as (base, _):
            yield base, gateway
    finally:
        set_llm_gateway(None)
        reset_process_services()


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def send(client: httpx.Client, start: int, stop: int) -> None:
    """Every 10th request streams (TTFT, GenAI families), every 10th names an unknown model
    (refused: counted under its node's label)."""
    for n in range(start, stop):
        node = f"attacker-node-{n}-" + "x" * 40
        body: dict[str, object] = BODY
        if n % 10 == 3:
            body = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
        elif n % 10 == 7:
            body = {**BODY, "model": f"attacker-model-{n}"}
        answer = client.post(
            "/v1/chat/completions",
            json=body,
            headers={"X-Gateway-Node": node, "X-Trace-Id": f"trace-{n}"},
        )
        assert answer.status_code == (404 if n % 10 == 7 else 200)


def label_values(exposition: str) -> set[str]:
    return {
        value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        for name, value in sample.labels.items()
        if name == "node"
    }


def sizes(client: httpx.Client) -> tuple[list[str], int, int]:
    """The series (name and labels, values cut off), the report's and /metrics' sizes."""
    metrics = client.get("/metrics").text
    assert label_values(metrics) == {"default"}
    report = client.get("/api/admin/gateway/cost-optimization", headers=ADMIN).text
    series = [line.rsplit(" ", 1)[0] for line in metrics.splitlines() if line[:1] not in "#"]
    return series, len(report), len(metrics)


def client_metrics(url: str) -> str:
    return httpx.get(f"{url}/metrics").text


def test_twenty_thousand_distinct_node_names_leave_everything_flat(
    served: tuple[str, LLMGateway],
) -> None:
    url, gateway = served
    with httpx.Client(base_url=url, timeout=10) as client:
        send(client, 0, 200)
        series_200, report_200, bytes_200 = sizes(client)
        send(client, 200, 2_000)
        rss_2000 = rss_bytes()
        send(client, 2_000, 20_000)
        series_20k, report_20k, bytes_20k = sizes(client)
        rss_20k = rss_bytes()
        metrics = gateway.tracer.metrics(hours=1)
    assert series_20k == series_200, "no new metric series"
    assert bytes_20k < bytes_200 * 1.02  # only counts grew (a few more digits)
    assert report_20k < report_200 + 200
    assert set(metrics["node_distribution"]) == {"default"}
    assert metrics["request_count"] == 18_000  # the refused never reach the tracer
    families = {f.name for f in text_string_to_metric_families(client_metrics(url))}
    assert {
        "llm_gateway_time_to_first_token_seconds",
        "gen_ai_server_time_to_first_token_seconds",
        "gen_ai_client_token_usage",
        "llm_gateway_capability_requests",
        "process_resident_memory_bytes",
    } <= families
    assert len(gateway.selector._cache) < 50, "unknown nodes share the default's selection"
    assert rss_20k - rss_2000 < 20 * 1024 * 1024, f"RSS grew {(rss_20k - rss_2000) >> 20} MiB"


def test_the_callers_node_is_kept_capped_in_the_trace(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    gateway = build_gateway(settings, providers=SimulatedProviders())
    try:
        with serve(create_app(settings, gateway=gateway)) as (url, _):
            node = "n" * 5000
            answer = httpx.post(
                f"{url}/v1/chat/completions",
                json=BODY,
                headers={"X-Gateway-Node": node, "X-Trace-Id": "capped-node"},
            )
            trace = httpx.get(f"{url}/api/admin/gateway/traces/capped-node", headers=ADMIN)
    finally:
        set_llm_gateway(None)
        reset_process_services()
    assert answer.status_code == 200
    assert trace.json()["node_name"] == "default"
    assert trace.json()["caller_node"] == "n" * 128


def test_a_reused_trace_id_keeps_every_request(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    gateway = build_gateway(settings, providers=SimulatedProviders())
    try:
        with serve(create_app(settings, gateway=gateway)) as (url, _):
            for node in ("writer", "formatter"):
                httpx.post(
                    f"{url}/v1/chat/completions",
                    json={**BODY, "model": node},
                    headers={"X-Trace-Id": "shared-trace"},
                )
            trace = httpx.get(f"{url}/api/admin/gateway/traces/shared-trace", headers=ADMIN)
    finally:
        set_llm_gateway(None)
        reset_process_services()
    body = trace.json()
    assert body["request_count"] == 2
    assert [r["node_name"] for r in body["requests"]] == ["formatter", "writer"]
