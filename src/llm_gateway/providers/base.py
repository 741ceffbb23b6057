"""The one protocol every provider implements, and the plain values that cross it.

A provider turns a :class:`ProviderRequest` (an OpenAI Chat Completions body whose ``model`` is
already the provider's model id, plus the policy and deadlines) into a :class:`ProviderResponse`
or an async iterator of :class:`StreamChunk`. It enforces the per-attempt deadlines it can see
(connect, response headers, first token, stall between chunks, and the absolute ``deadline_at``)
and raises only :class:`~llm_gateway.errors.ProviderError` subclasses: every foreign exception
(httpx, aiohttp, OSError, JSON errors) is translated inside the provider. Retries, fallbacks and
circuit breaking are the gateway's business, never the provider's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from llm_gateway.model_policy import Deadlines, ModelPolicy


@dataclass(slots=True)
class Usage:
    """Token counts of one answer, and the provider-reported cost when it sends one."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_prompt_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal | None = None

    @classmethod
    def from_openai(cls, usage: Mapping[str, Any] | None) -> Usage | None:
        """Read an OpenAI/OpenRouter ``usage`` object (detail fields and ``cost`` included)."""
        if not usage:
            return None
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        cost = usage.get("cost")
        prompt = int(usage.get("prompt_tokens") or 0)
        completion = int(usage.get("completion_tokens") or 0)
        return cls(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=int(usage.get("total_tokens") or prompt + completion),
            cached_prompt_tokens=int(prompt_details.get("cached_tokens") or 0),
            reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
            cost=Decimal(str(cost)) if cost is not None else None,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "cached_prompt_tokens": self.cached_prompt_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "provider_cost": str(self.cost) if self.cost is not None else None,
        }


@dataclass(slots=True)
class ProviderRequest:
    """One attempt's input. ``body`` must not be mutated by the provider."""

    body: Mapping[str, Any]
    policy: ModelPolicy
    deadlines: Deadlines
    deadline_at: float
    trace_id: str | None = None
    extra_headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))


@dataclass(slots=True)
class ProviderResponse:
    """A complete (non-streaming) answer: the provider's chat.completion JSON, parsed."""

    body: dict[str, Any]
    usage: Usage | None
    status: int = 200
    request_id: str | None = None
    rate_limit_wait_s: float | None = None  # its rate-limit headers said nothing is left


@dataclass(slots=True)
class StreamChunk:
    """One ``chat.completion.chunk`` of a stream, parsed.

    ``content`` is the text delta of choice 0 (``""`` when none); ``usage`` is set on the chunk
    that carries usage (usually the last). ``data`` is the chunk as received.
    """

    data: dict[str, Any]
    content: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None

    @property
    def has_payload(self) -> bool:
        """True when the chunk carries content, a tool-call delta or a role (anything to send)."""
        choices = self.data.get("choices") or ()
        if not choices:
            return False
        delta = choices[0].get("delta") or {}
        return bool(
            self.content
            or delta.get("tool_calls")
            or delta.get("function_call")
            or delta.get("reasoning")
        )


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    """What a provider knows of itself without calling a paid endpoint."""

    name: str
    status: str  # "ok" | "degraded" | "down" | "unknown"
    detail: str = ""
    open_connections: int | None = None


@runtime_checkable
class Provider(Protocol):
    """complete, stream, health, close — nothing else."""

    name: str

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        """The whole answer, or a ProviderError subclass."""
        ...

    def stream(self, request: ProviderRequest) -> AsyncIterator[StreamChunk]:
        """Chunks as they arrive; ends after the last chunk (``[DONE]`` or the end of the body).

        Raises ProviderTimeout when the first token or the next chunk does not arrive in time,
        ProviderStreamError when the stream is cut, malformed beyond skipping, or carries an
        error event, and the other ProviderError subclasses for failures before the stream.
        """
        ...

    async def health(self) -> ProviderHealth: ...

    async def close(self) -> None: ...
