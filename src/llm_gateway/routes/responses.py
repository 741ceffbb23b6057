"""Lean request and response plumbing for the hot path.

:func:`read_body` reads the request body straight from ``receive`` (one message in the common
case, no async generator); :class:`RawJSONResponse` sends bytes that are already JSON with
headers that are already encoded, skipping Starlette's header normalisation.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response


async def read_body(request: Request) -> bytes:
    """The whole request body. Raises ClientDisconnect if the client leaves while sending it."""
    receive = request.receive
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientDisconnect()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def raw_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """Lower-case names and latin-1 values, as ASGI wants them."""
    return [(name.lower().encode(), value.encode("latin-1")) for name, value in headers.items()]


class RawJSONResponse(Response):
    """``body`` is JSON already; ``headers`` are ASGI raw header pairs."""

    media_type = "application/json"

    def __init__(
        self,
        body: bytes,
        headers: list[tuple[bytes, bytes]] | None = None,
        status_code: int = 200,
    ) -> None:
        self.body = body
        self.status_code = status_code
        self.background = None
        self.raw_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *(headers or ()),
        ]
