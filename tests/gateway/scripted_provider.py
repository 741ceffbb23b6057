"""A scripted in-process Provider for unit tests of the gateway's orchestration.

Each provider model id has a queue of behaviours; an attempt pops the next one (the last one
repeats). A behaviour is an exception to raise, or a text to answer (streamed word by word, with
an optional exception raised after ``cut_after`` chunks). Every attempt is logged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from llm_gateway.providers.base import (
    ProviderHealth,
    ProviderRequest,
    ProviderResponse,
    StreamChunk,
    Usage,
)


@dataclass
class Answer:
    text: str
    cut_after: int | None = None
    cut_error: Exception | None = None


@dataclass
class ScriptedProvider:
    name: str = "scripted"
    script: dict[str, list[Any]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def _next(self, request: ProviderRequest) -> Any:
        model = str(request.body["model"])
        self.calls.append({"model": model, "messages": list(request.body["messages"])})
        queue = self.script.get(model) or self.script.get("*") or [Answer("hello world")]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        step = self._next(request)
        if isinstance(step, Exception):
            raise step
        usage = {
            "prompt_tokens": 10,
            "completion_tokens": len(step.text.split()),
            "total_tokens": 10 + len(step.text.split()),
        }
        body = {
            "id": "x",
            "object": "chat.completion",
            "model": request.body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": step.text},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }
        return ProviderResponse(body=body, usage=Usage.from_openai(usage))

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamChunk]:  # type: ignore[override]
        step = self._next(request)
        if isinstance(step, Exception):
            raise step
        words = step.text.split(" ")
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        messages = request.body["messages"]
        if messages[-1]["role"] == "assistant":  # continue a prefill like a real model
            done = messages[-1]["content"]
            full = step.text
            pieces = [full[len(done) :]] if full.startswith(done) else ["???"]
        for i, piece in enumerate(pieces):
            if step.cut_after is not None and i == step.cut_after:
                raise step.cut_error or RuntimeError("cut")
            yield StreamChunk(
                data={
                    "id": "c",
                    "object": "chat.completion.chunk",
                    "model": request.body["model"],
                    "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                },
                content=piece,
            )
        usage = {
            "prompt_tokens": 10,
            "completion_tokens": len(pieces),
            "total_tokens": 10 + len(pieces),
        }
        yield StreamChunk(
            data={
                "id": "c",
                "object": "chat.completion.chunk",
                "model": request.body["model"],
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": usage,
            },
            finish_reason="stop",
            usage=Usage.from_openai(usage),
        )

    async def health(self) -> ProviderHealth:
        return ProviderHealth(self.name, "ok")

    async def close(self) -> None:
        return None


class SingleProviderRegistry:
    """Every policy's provider name resolves to the one scripted provider."""

    def __init__(self, provider: ScriptedProvider) -> None:
        self.provider = provider

    def get(self, name: str) -> ScriptedProvider:
        return self.provider

    def instantiated(self) -> dict[str, ScriptedProvider]:
        return {"scripted": self.provider}

    async def close_all(self) -> None:
        return None
