"""The request body limit as clients over a real socket see it (uvicorn on 127.0.0.1).

An oversized upload is refused by its ``Content-Length`` before it is read. The client is still
sending: closing the connection then would make the kernel reset it and destroy the 413 before
an async httpx client (AsyncOpenAI's transport) reads it. A client that asked for
``100 Continue`` has sent nothing, and its connection is closed.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.http.conftest import make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import LLMGateway

LIMIT = 64 * 1024
OVERSIZED = 8 * 1024 * 1024  # far more than the socket buffers take while the 413 is sent


@pytest.fixture
def limited_url(tmp_path: Path, gateway: LLMGateway) -> Iterator[str]:
    settings = make_settings(tmp_path, GATEWAY_MAX_BODY_BYTES=LIMIT)
    with serve(create_app(settings, gateway=gateway)) as (url, _server):
        yield url


async def test_async_client_uploading_too_much_reads_the_413(limited_url: str) -> None:
    body = {"model": "auto", "messages": [{"role": "user", "content": "x" * OVERSIZED}]}
    async with httpx.AsyncClient(base_url=limited_url, timeout=30) as client:
        for _ in range(3):  # not a lucky race: every time
            refused = await client.post("/v1/chat/completions", json=body)
            assert refused.status_code == 413
            assert refused.json()["error"]["code"] == "payload_too_large"
        after = await client.get("/healthz")
    assert after.status_code == 200


def test_oversized_upload_waiting_for_100_continue_is_refused_and_closed(
    limited_url: str,
) -> None:
    port = int(limited_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n"
            b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % OVERSIZED
        )
        answer = b""
        for _ in range(100):  # until the server closes (bounded)
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 413")
    assert b"100 continue" not in head  # the body was never asked for
    assert b"connection: close" in head
