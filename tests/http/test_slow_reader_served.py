"""A client that stops reading a stream: the gateway stops reading the upstream soon after.

uvicorn on 127.0.0.1 serves the gateway, routed to the benchmark's mock upstream (a separate
process) streaming several megabytes as fast as it can; clients read the first bytes and then
nothing. What the gateway keeps of the upstream's bytes (received on the provider connection or
split into SSE events, not yet passed on) is measured with tracemalloc.
"""

from __future__ import annotations

import socket
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from tests.http.conftest import make_settings
from tests.http.serving import serve
from tests.http.upstream import mock_upstream

from llm_gateway.app import create_app
from llm_gateway.bench.targets import Upstream, gateway_config, model_name

CLIENTS = 4
CHUNKS = 40_000  # about 6 MB of SSE: far more than any buffer on the way
BUFFERING_FILES = ("providers/transport/connection.py", "providers/sse.py")


@pytest.fixture
def mock_port() -> Iterator[int]:
    with mock_upstream("--chunks", str(CHUNKS)) as port:
        yield port


@pytest.fixture
def gateway_url(mock_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    gateway_config(tmp_path / "config", [Upstream(mock_port, 0)])
    monkeypatch.setenv("BENCH_UPSTREAM_KEY", "sk-upstream")
    settings = make_settings(
        tmp_path, GATEWAY_SIMULATE=False, GATEWAY_CONFIG_DIR=tmp_path / "config"
    )
    with serve(create_app(settings)) as (url, _server):
        yield url


def test_stalled_readers_hold_little_of_the_upstream_stream(gateway_url: str) -> None:
    port = int(gateway_url.rsplit(":", 1)[1])
    body = orjson.dumps(
        {"model": model_name(0), "messages": [{"role": "user", "content": "hi"}], "stream": True}
    )
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    tracemalloc.start()
    clients: list[socket.socket] = []
    try:
        for _ in range(CLIENTS):
            client = socket.socket()
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            client.connect(("127.0.0.1", port))
            client.sendall(request)
            assert client.recv(1024).startswith(b"HTTP/1.1 200")  # streaming; now stop reading
            clients.append(client)
        held = _settled(_held_from_upstream)
    finally:
        tracemalloc.stop()
        for client in clients:
            client.close()
    # The provider connection stops being read past 64 KiB unread (one socket read may add up
    # to 256 KiB): about 0.3 MB per stalled stream; it was 1.5 MB when the threshold was 1 MiB.
    assert held / CLIENTS < 700_000, held


def _held_from_upstream() -> int:
    snapshot = tracemalloc.take_snapshot()
    return sum(
        trace.size
        for trace in snapshot.traces
        if trace.traceback[0].filename.endswith(BUFFERING_FILES)
    )


def _settled(measure: object, samples: int = 100) -> int:
    """The measure once it stops changing (or after ``samples`` tries): the streams have filled
    every buffer on the way and the gateway has stopped reading the upstream."""
    assert callable(measure)
    last, stable = -1, 0
    for _ in range(samples):
        time.sleep(0.05)
        value = int(measure())
        stable = stable + 1 if value == last else 0
        last = value
        if stable == 5:
            break
    return last
