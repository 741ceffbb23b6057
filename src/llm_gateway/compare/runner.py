"""Run each prompt through both arms, one prompt at a time (v1 then v2, so neither arm's
latency is measured under the other's load):

- **v1** — the node's old model, straight to its provider, as the code did before the gateway
  (:class:`~llm_gateway.node_integration.direct_backend.DirectProviderBackend`);
- **v2** — the gateway for the node: in process, or a served gateway at ``--gateway-url``.

A failure on either arm is recorded (its error type and message) and the run goes on: failures
are part of what the comparison reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from llm_gateway.compare.prompts import ComparePrompt
from llm_gateway.compare.similarity import similarity
from llm_gateway.errors import GatewayError
from llm_gateway.node_integration.backends import Backend, CallContext, Completion
from llm_gateway.request_info import new_trace_id


@dataclass(frozen=True, slots=True)
class ArmResult:
    """One arm's answer to one prompt (``error`` set when it failed)."""

    text: str
    model: str | None
    latency_ms: float
    cost_usd: float | None
    output_tokens: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "model": self.model,
            "latency_ms": round(self.latency_ms, 1),
            "cost_usd": self.cost_usd,
            "output_chars": len(self.text),
            "output_words": len(self.text.split()),
            "output_tokens": self.output_tokens,
            "error": self.error,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class PromptComparison:
    prompt_id: str
    v1: ArmResult
    v2: ArmResult

    @property
    def similarity(self) -> float | None:
        """How alike the two answers are (0..1); None unless both arms answered."""
        if not (self.v1.ok and self.v2.ok):
            return None
        return similarity(self.v1.text, self.v2.text)

    def as_dict(self) -> dict[str, Any]:
        score = self.similarity
        return {
            "id": self.prompt_id,
            "similarity": round(score, 4) if score is not None else None,
            "v1": self.v1.as_dict(),
            "v2": self.v2.as_dict(),
        }


def _text(completion: Completion) -> str:
    choices = completion.body.get("choices") or [{}]
    content = (choices[0].get("message") or {}).get("content")
    return content if isinstance(content, str) else ""


def _output_tokens(completion: Completion) -> int | None:
    usage = completion.body.get("usage") or {}
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return int(tokens) if isinstance(tokens, int) else None


async def run_arm(backend: Backend, body: dict[str, Any], context: CallContext) -> ArmResult:
    """One call, timed; a GatewayError (the gateway's or the provider's) is a failed result."""
    started = time.perf_counter()
    try:
        completion = await backend.complete(body, context)
    except GatewayError as exc:
        elapsed = (time.perf_counter() - started) * 1000
        return ArmResult("", None, elapsed, None, None, f"{type(exc).__name__}: {exc.message}")
    elapsed = (time.perf_counter() - started) * 1000
    return ArmResult(
        _text(completion), completion.model, elapsed, completion.cost, _output_tokens(completion)
    )


async def run_comparison(
    prompts: Sequence[ComparePrompt],
    *,
    node: str,
    old_model: str,
    v1: Backend,
    v2: Backend,
    on_done: Callable[[PromptComparison], None] | None = None,
) -> list[PromptComparison]:
    """Every prompt through ``v1`` (as ``old_model``) then ``v2`` (model ``auto`` for
    ``node``: the node's requirements select), in order."""
    results = []
    for prompt in prompts:
        trace = new_trace_id()
        first = await run_arm(
            v1, prompt.body(old_model), CallContext(node=node, trace_id=f"{trace}-v1")
        )
        second = await run_arm(v2, prompt.body("auto"), CallContext(node=node, trace_id=trace))
        result = PromptComparison(prompt.id, first, second)
        results.append(result)
        if on_done is not None:
            on_done(result)
    return results
