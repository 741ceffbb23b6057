"""What only the native transport does, or does differently: the stale keep-alive retry, TLS with
SNI, the proxy choice, and its building blocks (origin, request head). Real servers on loopback."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.providers.conftest import API_KEY, MakeProvider, StartUpstream, make_request
from tests.providers.upstream import DONE, END, Request, delta, event, response, sse_head

from llm_gateway.errors import ProviderDisconnected
from llm_gateway.providers.openai_compatible import Endpoint, OpenAICompatibleProvider
from llm_gateway.providers.transport import (
    ConnectFailed,
    Deadline,
    NativeTransport,
    Origin,
    TransportKind,
)
from llm_gateway.providers.transport.base import encode_head

COMPLETION = {"id": "gen-1", "choices": [{"index": 0, "message": {"content": "hi"}}]}


def hang_up_on_reuse(*, always_after_first: bool = False):  # type: ignore[no-untyped-def]
    """Answer the first request of each connection; hang up on a connection's second request
    (a keep-alive close racing the reuse). ``always_after_first``: after the very first answer,
    hang up on every request, new connections included."""
    served: dict[int, int] = {}
    answered = 0

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        count = served[id(writer)] = served.get(id(writer), 0) + 1
        if count > 1 or (always_after_first and answered):
            writer.close()
            return
        answered += 1
        if request.json().get("stream"):
            writer.write(sse_head() + event(delta("ok")) + DONE + END)
        else:
            writer.write(response(200, COMPLETION))

    return handler


async def test_a_stale_keep_alive_connection_is_retried_once_on_a_new_one(
    upstream: StartUpstream, provider_for: MakeProvider, transport: TransportKind
) -> None:
    server = await upstream(hang_up_on_reuse())
    provider = provider_for(server)
    await provider.complete(make_request())
    if transport == "aiohttp":  # aiohttp never resends a POST: the documented difference
        with pytest.raises(ProviderDisconnected):
            await provider.complete(make_request())
        return
    assert (await provider.complete(make_request())).body == COMPLETION
    assert server.connections == 2 and len(server.requests) == 3
    chunks = [c async for c in provider.stream(make_request(stream=True))]
    assert [c.content for c in chunks] == ["ok"]
    assert server.connections == 3 and len(server.requests) == 5


async def test_the_retry_happens_once_then_the_hang_up_counts(
    upstream: StartUpstream, provider_for: MakeProvider
) -> None:
    server = await upstream(hang_up_on_reuse(always_after_first=True))
    provider = provider_for(server)
    await provider.complete(make_request())
    with pytest.raises(ProviderDisconnected, match="hung up without answering"):
        await provider.complete(make_request())
    assert len(server.requests) <= 3  # the first, the stale one, at most one resend


# ---------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (made by the openssl CLI)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    key_type = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    names = ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
    files = ["-keyout", str(key), "-out", str(cert), "-days", "1"]
    subprocess.run(
        ["openssl", "req", "-x509", *key_type, *files, *names],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@pytest.fixture
async def tls_upstream(
    upstream: StartUpstream, certificate: tuple[Path, Path]
) -> AsyncIterator[tuple[int, list[str | None]]]:
    """A TLS server on 127.0.0.1 answering COMPLETION; yields its port and the SNI names seen."""
    names: list[str | None] = []
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(*certificate)
    server_side.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,func-returns-value,misc]

    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, COMPLETION))

    server = await upstream(answer)
    await server.close()
    yield (await server.start(tls=server_side)).port, names


def trusting(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certificate[0]))
    context.set_alpn_protocols(["http/1.1"])
    return context


async def exchange(transport: NativeTransport) -> int:
    head = transport.prepare("POST", "/v1/chat/completions", {"Content-Type": "application/json"})
    deadline = Deadline(time.monotonic() + 5, "test deadline")
    try:
        return (await transport.request(head, b"{}", deadline, deadline)).status
    finally:
        await transport.close()


async def test_https_verifies_the_certificate_and_sends_sni(
    tls_upstream: tuple[int, list[str | None]], certificate: tuple[Path, Path]
) -> None:
    port, names = tls_upstream
    origin = Origin.of(f"https://localhost:{port}/v1")
    assert await exchange(NativeTransport(origin, 2, 15, ssl_context=trusting(certificate))) == 200
    assert names == ["localhost"]


async def test_https_refuses_an_untrusted_certificate(
    tls_upstream: tuple[int, list[str | None]],
) -> None:
    origin = Origin.of(f"https://127.0.0.1:{tls_upstream[0]}/v1")
    with pytest.raises(ConnectFailed, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        await exchange(NativeTransport(origin, 2, 15))  # the default context: certifi's CAs


# ---------------------------------------------------------------- the proxy choice


async def test_a_proxy_variable_routes_through_the_proxy(
    upstream: StartUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = await upstream(lambda request, writer: _write(writer, response(200, COMPLETION)))
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    provider = _provider("http://upstream.invalid/v1")
    try:
        assert (await provider.complete(make_request())).body == COMPLETION
    finally:
        await provider.close()
    assert proxy.requests[0].path == "http://upstream.invalid/v1/chat/completions"


async def test_no_proxy_exempts_a_host(
    upstream: StartUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await upstream(lambda request, writer: _write(writer, response(200, COMPLETION)))
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the discard port: never reached
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    provider = _provider(server.url)
    try:
        assert (await provider.complete(make_request())).body == COMPLETION
    finally:
        await provider.close()
    assert server.requests[0].path == "/v1/chat/completions"


def _provider(base_url: str) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        Endpoint(name="test", base_url=base_url, api_key=SecretStr(API_KEY))
    )


async def _write(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)


# ---------------------------------------------------------------- building blocks


def test_origin_and_host_header() -> None:
    assert Origin.of("https://openrouter.ai/api/v1") == Origin("https", "openrouter.ai", 443)
    assert Origin.of("https://openrouter.ai/api/v1").host_header == "openrouter.ai"
    assert Origin.of("http://127.0.0.1:8001/v1").host_header == "127.0.0.1:8001"
    assert Origin.of("http://[::1]:81/v1").host_header == "[::1]:81"
    with pytest.raises(ValueError):
        Origin.of("ftp://example.com/")


def test_the_request_head_sets_host_and_rejects_injection() -> None:
    wire = encode_head("POST", "/v1/x", "h:1", {"A": "1", "Host": "evil", "content-length": "9"})
    assert wire == b"POST /v1/x HTTP/1.1\r\nHost: h:1\r\nA: 1\r\n"
    for bad in ({"A": "1\r\nB: 2"}, {"A\n": "1"}, {"": "1"}, {"A:B": "1"}):
        with pytest.raises(ValueError):
            encode_head("POST", "/", "h", bad)
