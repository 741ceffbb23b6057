"""An OpenAI-compatible upstream on 127.0.0.1 that answers every request with a huge body (a
plain 2xx of ``size`` bytes, or an event stream whose first event never ends), in a thread."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

PIECE = b"x" * 65536


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        length = 0
        while line := self.rfile.readline(65537):
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        self.rfile.read(length)
        stream = self.server.stream
        self.server.requests += 1
        size = self.server.size
        try:
            if stream:
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                self.wfile.write(head + b"Connection: close\r\n\r\ndata: ")
            else:
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                self.wfile.write(head + b"Content-Length: %d\r\n\r\n" % size)
            sent = 0
            while sent < size:  # bounded: at most ``size`` bytes, then the handler ends
                self.wfile.write(PIECE)
                sent += len(PIECE)
        except OSError:
            self.server.cut_by_client += 1  # the gateway dropped the connection, as it should


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, size: int, stream: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.size = size
        self.stream = stream
        self.requests = 0
        self.cut_by_client = 0


@contextmanager
def huge_upstream(size: int, *, stream: bool = False) -> Iterator[_Server]:
    """Yield the server (``server_address[1]`` is its port) while it runs."""
    server = _Server(size, stream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
