"""A gateway app run in the test's own event loop (its lifespan entered, requests through
``httpx.ASGITransport``), so legacy clients can call its gateway directly on that loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from tests.http.conftest import AUTH

from llm_gateway.app import create_app
from llm_gateway.gateway import LLMGateway, set_llm_gateway
from llm_gateway.llm_service import get_llm_client
from llm_gateway.node_integration.backends import Completion
from llm_gateway.routes.deps import reset_process_services
from llm_gateway.settings import Settings

FLAGS = "/api/admin/gateway/flags"


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://gateway", headers=AUTH
            ) as client:
                yield app, client
    finally:
        set_llm_gateway(None)
        reset_process_services()


async def legacy_call(
    gateway: LLMGateway, purpose: str, model: str, user: str, *, stream: bool = False
) -> Completion | Exception:
    """One legacy request (the shim's own arm choice and backends) on this loop; its failure
    is returned, not raised."""
    client = get_llm_client(purpose, model, user=user).with_gateway(gateway)
    backend = client._backend()
    body: dict[str, Any] = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
    body["user"] = user
    try:
        if stream:
            body.update(stream=True, stream_options={"include_usage": True})
            metas = [meta async for _chunk, meta in backend.stream(body, client._context())]
            meta = metas[-1]
            return Completion({}, meta.model, meta.trace_id, None, arm=meta.arm)
        return await backend.complete(body, client._context())
    except Exception as exc:
        return exc
