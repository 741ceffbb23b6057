"""OpenTelemetry spans of the served gateway, received by a local OTLP/HTTP receiver that the
test starts (``http.server`` on loopback, ``POST /v1/traces`` decoded with opentelemetry-proto's
``ExportTraceServiceRequest``): a request span per request, a child span per attempt, the GenAI
semantic-convention attributes and the gateway's own, and a caller's ``traceparent`` continued."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.http.conftest import make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import LLMGateway, build_gateway, get_llm_gateway
from llm_gateway.routes.deps import reset_process_services
from llm_gateway.simulator.testing import SimulatorHandle

pytest.importorskip("opentelemetry.sdk", reason="the 'otel' extra is not installed")
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

PRIMARY = "google/gemini-2.0-flash-exp"  # gemini-2.5-pro → claude-sonnet → ...
MESSAGES: list[Any] = [{"role": "user", "content": "Trace me."}]
PARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"


class Receiver:
    """Collects the spans of every OTLP/HTTP export posted to it, with their resource."""

    def __init__(self) -> None:
        self.spans: list[tuple[dict[str, Any], Span]] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                export = ExportTraceServiceRequest()
                export.ParseFromString(body)
                with receiver.lock:
                    receiver.paths.append(self.path)
                    for resource_spans in export.resource_spans:
                        resource = attributes(resource_spans.resource.attributes)
                        for scope_spans in resource_spans.scope_spans:
                            receiver.spans += [(resource, s) for s in scope_spans.spans]
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Span]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.spans) >= count:
                    return [span for _, span in self.spans]
            time.sleep(0.05)
        raise AssertionError(f"{len(self.spans)} spans received, {count} expected")


def attributes(values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in values:
        kind = kv.value.WhichOneof("value")
        value = getattr(kv.value, kind)
        if kind == "array_value":
            value = [getattr(v, v.WhichOneof("value")) for v in value.values]
        out[kv.key] = value
    return out


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def served(
    simulator: SimulatorHandle, receiver: tuple[str, Receiver], tmp_path: Path
) -> Iterator[tuple[str, LLMGateway, Receiver]]:
    endpoint, collected = receiver
    settings = make_settings(
        tmp_path,
        GATEWAY_SIMULATE=False,
        OPENROUTER_API_KEY="sk-or-test-otel",
        OPENROUTER_BASE_URL=simulator.base_url,
        GATEWAY_MAX_RETRIES=0,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_SERVICE_NAME="gateway-under-test",
        DATABASE_URL="",
    )
    try:
        with serve(create_app(settings)) as (url, _):  # the app builds (and closes) its gateway
            yield url, get_llm_gateway(), collected
    finally:
        reset_process_services()


def hex_id(raw: bytes) -> str:
    return raw.hex()


@pytest.mark.timeout(60)
def test_a_request_span_with_a_child_per_attempt_continues_the_callers_trace(
    simulator: SimulatorHandle, served: tuple[str, LLMGateway, Receiver]
) -> None:
    url, gateway, receiver = served
    simulator.set_scenario(
        {
            "zero_latency": True,
            "models": {PRIMARY: {"faults": [{"kind": "error", "status": 503, "times": 1}]}},
        }
    )
    answer = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "gemini-2.5-pro", "messages": MESSAGES, "max_tokens": 20},
        headers={"traceparent": f"00-{PARENT_TRACE}-{PARENT_SPAN}-01"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert gateway.otel is not None and gateway.otel.force_flush()
    spans = receiver.wait_for(3)

    (request,) = [s for s in spans if s.kind == Span.SPAN_KIND_SERVER]
    attempts = sorted(
        (s for s in spans if s.kind == Span.SPAN_KIND_CLIENT), key=lambda s: s.start_time_unix_nano
    )
    assert request.name == "chat gemini-2.5-pro"
    assert hex_id(request.trace_id) == PARENT_TRACE
    assert hex_id(request.parent_span_id) == PARENT_SPAN
    assert [s.name for s in attempts] == [
        f"chat {PRIMARY}",
        "chat anthropic/claude-3.5-sonnet-20241022",
    ]
    for attempt in attempts:
        assert attempt.trace_id == request.trace_id
        assert attempt.parent_span_id == request.span_id
        assert request.start_time_unix_nano <= attempt.start_time_unix_nano
        assert attempt.end_time_unix_nano <= request.end_time_unix_nano

    usage = answer.json()["usage"]
    got = attributes(request.attributes)
    assert got["gen_ai.operation.name"] == "chat"
    assert got["gen_ai.request.model"] == "gemini-2.5-pro"
    assert got["gen_ai.response.model"] == "claude-sonnet"
    assert got["gen_ai.provider.name"] == "openrouter"
    assert got["gen_ai.request.max_tokens"] == 20
    assert got["gen_ai.usage.input_tokens"] == usage["prompt_tokens"] > 0
    assert got["gen_ai.usage.output_tokens"] == usage["completion_tokens"] > 0
    assert got["gen_ai.response.finish_reasons"] == [answer.json()["choices"][0]["finish_reason"]]
    assert got["llm_gateway.node"] == "default"
    assert got["llm_gateway.strategy"] == "balanced"
    assert got["llm_gateway.fallback_index"] == 1
    assert got["llm_gateway.fallback_used"] is True
    assert got["llm_gateway.cost_usd"] == pytest.approx(usage["cost"])
    assert got["llm_gateway.trace_id"] == answer.headers["x-trace-id"] == PARENT_TRACE
    assert request.status.code == Status.STATUS_CODE_UNSET

    failed, answered = (attributes(s.attributes) for s in attempts)
    assert failed["error.type"] == "ProviderUnavailable"
    assert failed["http.response.status_code"] == 503
    assert failed["gen_ai.request.model"] == PRIMARY
    assert failed["llm_gateway.fallback_index"] == 0
    assert attempts[0].status.code == Status.STATUS_CODE_ERROR
    assert "error.type" not in answered
    assert answered["gen_ai.provider.name"] == "openrouter"
    assert answered["llm_gateway.model"] == "claude-sonnet"

    resource = receiver.spans[0][0]
    assert resource["service.name"] == "gateway-under-test"
    assert receiver.paths and set(receiver.paths) == {"/v1/traces"}


@pytest.mark.timeout(60)
def test_without_traceparent_the_span_carries_the_gateways_trace_id(
    served: tuple[str, LLMGateway, Receiver],
) -> None:
    url, gateway, receiver = served
    body = {
        "model": "writer",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    answer = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)
    assert answer.status_code == 200 and "[DONE]" in answer.text
    assert gateway.otel is not None and gateway.otel.force_flush()
    spans = receiver.wait_for(2)
    (request,) = [s for s in spans if s.kind == Span.SPAN_KIND_SERVER]
    assert request.name == "chat writer"
    assert hex_id(request.trace_id) == answer.headers["x-trace-id"]
    assert request.parent_span_id == b""
    got = attributes(request.attributes)
    assert got["llm_gateway.node"] == "writer"
    assert got["llm_gateway.stream"] is True
    assert got["llm_gateway.ttft_ms"] > 0
    assert got["gen_ai.response.finish_reasons"] == ["stop"]
    assert got["llm_gateway.fallback_index"] == 0


def test_a_failed_request_span_is_an_error(
    simulator: SimulatorHandle, served: tuple[str, LLMGateway, Receiver]
) -> None:
    url, gateway, receiver = served
    simulator.set_scenario(
        {"zero_latency": True, "models": {PRIMARY: {"faults": [{"kind": "error", "status": 400}]}}}
    )
    answer = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "gemini-2.5-pro", "messages": MESSAGES},
        timeout=30,
    )
    assert answer.status_code == 400
    assert gateway.otel is not None and gateway.otel.force_flush()
    spans = receiver.wait_for(2)
    (request,) = [s for s in spans if s.kind == Span.SPAN_KIND_SERVER]
    assert request.status.code == Status.STATUS_CODE_ERROR
    got = attributes(request.attributes)
    assert got["error.type"] == "invalid_request_error"
    assert got["llm_gateway.status"] == "error"
    assert "gen_ai.response.model" not in got


def test_no_endpoint_means_no_exporter(tmp_path: Path) -> None:
    gateway = build_gateway(make_settings(tmp_path, DATABASE_URL=""))
    assert gateway.otel is None
