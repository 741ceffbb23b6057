"""Serve an ASGI app with uvicorn (uvloop + httptools with the gateway's receive deadline, as
``llm-gateway serve`` does) on an ephemeral 127.0.0.1 port in a background thread, for tests
that need a real socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from llm_gateway.http_protocol import GatewayHttpProtocol

_START_TIMEOUT_S = 10.0


class ServedHttpProtocol(GatewayHttpProtocol):
    """The gateway's protocol with its default deadline and head limits, not read from the
    process settings (that would fill their cache for every later test)."""

    receive_timeout_s = 60.0
    max_header_bytes = 64 * 1024
    max_header_count = 100


@contextmanager
def serve(
    app: Any,
    *,
    graceful_s: float = 2.0,
    http: type[GatewayHttpProtocol] = ServedHttpProtocol,
    port: int = 0,
) -> Iterator[tuple[str, uvicorn.Server]]:
    """Yield ``(base_url, server)`` while the app is served (on ``port``, else an ephemeral
    one); stop and join on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http=http,
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=graceful_s,  # type: ignore[arg-type]
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(timeout=graceful_s + 5)
        sock.close()
