"""Request heads are bounded before auth, over a real socket (uvicorn + httptools on 127.0.0.1).

An endless or oversized head (request line, one header, too many headers, the whole head) gets a
431 in the gateway's error shape and the connection is closed, so many such connections cannot
grow the process; heads within the limits, and bodies of any allowed size behind them, are
served as before.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from tests.http.conftest import SimulatedProviders, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import build_gateway, set_llm_gateway
from llm_gateway.routes.deps import reset_process_services

MIB = 1024 * 1024


@pytest.fixture
def port(tmp_path: Path) -> Iterator[int]:
    settings = make_settings(tmp_path)
    gateway = build_gateway(settings, providers=SimulatedProviders())
    try:
        with serve(create_app(settings, gateway=gateway)) as (base, _):
            yield int(base.rsplit(":", 1)[1])
    finally:
        set_llm_gateway(None)
        reset_process_services()


def send_head(port: int, head: bytes, *, body: bytes = b"", chunk: int = 256 * 1024) -> bytes:
    """Send ``head`` (and ``body``) in chunks until the server stops reading; return what it
    answered before closing. Sending stops at the first broken pipe."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        data = head + body
        try:
            for start in range(0, len(data), chunk):
                sock.sendall(data[start : start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            for _ in range(1000):
                part = sock.recv(65536)
                if not part:
                    break
                received += part
        except ConnectionResetError:
            pass
    return received


def status_and_error(received: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()
    return int(head[9:12]), orjson.loads(body)["error"]


def request(extra: bytes = b"", path: bytes = b"/healthz") -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + b"\r\n"


def test_a_10_mb_head_gets_431_and_the_connection_closes(port: int) -> None:
    received = send_head(port, request(b"X-Big: " + b"a" * (10 * MIB) + b"\r\n"))
    status, error = status_and_error(received)
    assert status == 431
    assert error["code"] == "request_header_fields_too_large"


def test_an_unfinished_head_without_any_line_end_is_refused(port: int) -> None:
    received = send_head(port, b"GET /healthz HTTP/1.1\r\nX-Endless: " + b"b" * (2 * MIB))
    assert status_and_error(received)[0] == 431


def test_too_many_headers_get_431(port: int) -> None:
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    status, error = status_and_error(send_head(port, request(many)))
    assert status == 431
    assert "header fields" in str(error["message"])


def test_a_request_line_past_its_limit_gets_431(port: int) -> None:
    status, error = status_and_error(send_head(port, request(path=b"/healthz?" + b"q" * 40_000)))
    assert status == 431
    assert "request line" in str(error["message"])


def test_one_header_past_its_limit_gets_431(port: int) -> None:
    status, _ = status_and_error(send_head(port, request(b"X-One: " + b"c" * 20_000 + b"\r\n")))
    assert status == 431


def test_heads_within_the_limits_and_large_bodies_behind_them_are_served(port: int) -> None:
    headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 500) for i in range(80))  # ~42 KiB
    assert send_head(port, request(headers) + b"")[:12] == b"HTTP/1.1 200"
    body = orjson.dumps(
        {"model": "auto", "messages": [{"role": "user", "content": "x" * (3 * MIB)}]}
    )
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    # The head and the start of a 3 MiB body arrive in one read: the body is not counted.
    assert send_head(port, head, body=body, chunk=4 * MIB)[:12] == b"HTTP/1.1 200"


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_many_connections_with_huge_unfinished_heads_keep_memory_flat(port: int) -> None:
    """Five clients each try to send a 100 MiB head at once; without the limit the server held
    every byte (RSS +500 MiB). Each is cut off after the limit, so the process barely grows."""
    payload = b"GET / HTTP/1.1\r\nX-Flood: " + b"d" * (100 * MIB)
    answers: list[bytes] = []
    before = rss_bytes()
    threads = [
        threading.Thread(target=lambda: answers.append(send_head(port, payload, chunk=MIB)))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    grown = rss_bytes() - before
    assert [status_and_error(a)[0] for a in answers] == [431] * 5
    # The payload itself is shared by the five senders (allocated before measuring); what is
    # left is the server's buffers: far below one client's 100 MiB.
    assert grown < 40 * MIB, f"RSS grew by {grown / MIB:.0f} MiB"
