"""The deadline for receiving a request (slowloris), over a real socket (uvicorn on 127.0.0.1).

Clients that send nothing, half a head or half a body get a 408 and lose the connection after
the deadline; an answer that takes longer than the deadline is not cut, and a request already
answered (413) gets no second answer.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from tests.http.conftest import SimulatedProviders, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import build_gateway, set_llm_gateway
from llm_gateway.http_protocol import GatewayHttpProtocol
from llm_gateway.routes.deps import reset_process_services


class QuickDeadline(GatewayHttpProtocol):
    receive_timeout_s = 0.5


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """The gateway on the simulated provider at its usual pace (a stream takes seconds)."""
    settings = make_settings(tmp_path, GATEWAY_MAX_BODY_BYTES=2048)
    gateway = build_gateway(settings, providers=SimulatedProviders(zero_latency=False))
    try:
        with serve(create_app(settings, gateway=gateway), http=QuickDeadline) as (base, _):
            yield base
    finally:
        set_llm_gateway(None)
        reset_process_services()


def exchange(url: str, data: bytes) -> bytes:
    """Send ``data``, then read until the server closes (bounded)."""
    port = int(url.rsplit(":", 1)[1])
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        for _ in range(1000):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received


def statuses(received: bytes) -> list[int]:
    return [int(part[:3]) for part in received.split(b"HTTP/1.1 ")[1:]]


@pytest.mark.parametrize(
    "partial",
    [
        b"",
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\n{",
    ],
    ids=["nothing", "half-a-head", "half-a-body"],
)
def test_a_request_not_received_in_time_is_408_and_closed(url: str, partial: bytes) -> None:
    received = exchange(url, partial)

    assert statuses(received) == [408]
    error = orjson.loads(received.split(b"\r\n\r\n", 1)[1])["error"]
    assert error["code"] == "request_timeout"
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200


def test_the_deadline_restarts_with_each_request_of_a_connection(url: str) -> None:
    received = exchange(url, b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\nGET /heal")

    assert statuses(received) == [200, 408]


def test_a_refused_body_still_trickling_gets_no_second_answer(url: str) -> None:
    too_large = b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: 99999\r\n\r\n{"

    assert statuses(exchange(url, too_large)) == [413]


def test_an_answer_longer_than_the_deadline_is_not_cut(url: str) -> None:
    body = {
        "model": "auto",
        "messages": [{"role": "user", "content": "Tell me a story"}],
        "stream": True,
        "max_tokens": 60,  # about a second at the simulated pace, twice the deadline
    }
    with httpx.Client(base_url=url, timeout=10) as client:
        streamed = client.post("/v1/chat/completions", json=body)
        again = client.get("/healthz")  # the same connection, kept alive

    assert streamed.status_code == 200
    assert streamed.text.rstrip().endswith("data: [DONE]")
    assert again.status_code == 200
