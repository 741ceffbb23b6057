"""Answering from the cache: a completion's body, or a stream's chunks replayed one by one, as
one more request of the answering model — cost 0, what it saved in the ledger, no upstream
call, no admission (nothing to reserve or rate-limit)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from llm_gateway.cache.store import CachedAnswer, CacheTicket
from llm_gateway.cost import CostBreakdown
from llm_gateway.exchange import GatewayResponse, Plan
from llm_gateway.model_policy import ModelPolicy
from llm_gateway.providers.base import Usage

if TYPE_CHECKING:
    from llm_gateway.gateway import LLMGateway
    from llm_gateway.streaming import GatewayStream

_ZERO = Decimal(0)
CACHE_COST = CostBreakdown(_ZERO, _ZERO, _ZERO, _ZERO, _ZERO, "cache")
_USAGE_FIELDS = tuple(f.name for f in fields(Usage) if f.name != "cost")


def usage_of(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {name: getattr(usage, name) for name in _USAGE_FIELDS}


def _usage(stored: dict[str, Any] | None) -> Usage | None:
    if not stored:
        return None
    counts: dict[str, Any] = {k: int(v) for k, v in stored.items() if k in _USAGE_FIELDS}
    return Usage(**counts)


def hit_model(gateway: LLMGateway, plan: Plan, hit: CachedAnswer) -> ModelPolicy | None:
    """The model that made the cached answer, if it still exists and is not disabled."""
    policy = gateway.registry.find_policy(hit.model)
    if policy is None or not policy.enabled:
        return None
    if hit.model in gateway.signals.snapshot().disabled:
        return None
    plan.cache_saved = hit.cost
    return policy


async def answer_from_cache(
    gateway: LLMGateway, plan: Plan, policy: ModelPolicy, hit: CachedAnswer
) -> GatewayResponse:
    assert hit.body is not None
    body = hit.body
    body["id"] = f"chatcmpl-{plan.trace_id}"
    body["created"] = int(time.time())
    usage = _usage(hit.usage)
    reported = body.get("usage")
    if isinstance(reported, dict):
        reported["cost"] = 0.0
    await gateway.finish(plan, policy, usage, None, cost=CACHE_COST)
    return GatewayResponse(
        body=body,
        model=policy,
        usage=usage,
        cost=CACHE_COST,
        trace_id=plan.trace_id,
        overhead_ms=gateway.overhead_ms(plan),
        duration_ms=(time.monotonic() - plan.started_at) * 1000,
        cache="hit",
    )


def start_replay(stream: GatewayStream, policy: ModelPolicy, hit: CachedAnswer) -> None:
    stream.model = policy
    stream.usage = _usage(hit.usage)
    stream.cost = CACHE_COST
    stream.plan.ttft_ms = (time.monotonic() - stream.plan.started_at) * 1000


async def replay_chunks(stream: GatewayStream, hit: CachedAnswer) -> AsyncIterator[dict[str, Any]]:
    """The stored chunks under this request's id, then the stream is finished and settled."""
    chunk_id = f"chatcmpl-{stream.plan.trace_id}"
    created = int(time.time())
    try:
        for chunk in hit.chunks or ():
            chunk["id"] = chunk_id
            chunk["created"] = created
            usage = chunk.get("usage")
            if isinstance(usage, dict) and "cost" in usage:
                usage["cost"] = 0.0
            yield chunk
        stream.mark_finished()
    finally:
        await stream.aclose()


async def recording(
    gateway: LLMGateway,
    stream: GatewayStream,
    ticket: CacheTicket,
    events: AsyncIterator[dict[str, Any]],
) -> AsyncIterator[dict[str, Any]]:
    """The stream's chunks as they go; a complete, error-free answer is then cached."""
    kept: list[dict[str, Any]] | None = []
    budget = gateway.cache.max_entry_chars
    async for chunk in events:
        if kept is not None:
            if "error" in chunk and "choices" not in chunk:
                kept = None  # failed after it began: never cached
            else:
                kept.append(chunk)
                if len(kept) > budget // 16:  # far too many chunks to be worth keeping
                    kept = None
        yield chunk
    if kept and stream.finished_cleanly() and stream.model is not None:
        answer = CachedAnswer(
            model=stream.model.logical_id,
            usage=usage_of(stream.usage),
            cost=stream.cost.total,
            chunks=kept,
        )
        gateway.cache.put_later(ticket, answer)
