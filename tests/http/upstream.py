"""The benchmark's mock upstream (``llm_gateway.bench.mock_upstream``) as a separate process on an
ephemeral 127.0.0.1 port, for tests that need a fast or slow OpenAI-compatible server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from llm_gateway.bench.procs import free_port

_START_TIMEOUT_S = 10.0


@contextmanager
def mock_upstream(*options: str) -> Iterator[int]:
    """Yield the mock's port while it runs with ``options`` (``--chunks N``, ...); stop it."""
    port = free_port()
    argv = [sys.executable, "-m", "llm_gateway.bench.mock_upstream", "--port", str(port)]
    process = subprocess.Popen([*argv, *options])
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
