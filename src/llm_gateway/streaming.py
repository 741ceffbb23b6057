"""Streaming through the gateway: invisible failover before the first token, recovery after it.

Before the first content reaches the caller, any failure is handled by the chain like a
non-streaming call (retry, fall back). After content has been sent, a cut, stall or error event is
recovered on the next model of the chain from what the caller already has:

1. a model with the ``prefill`` capability continues an assistant prefill of the partial answer;
2. otherwise (or when it rejects the prefill) the model restarts cleanly, and its answer is
   accepted only if it begins with exactly the text already sent, which is then skipped;
3. if neither works the stream ends with an in-band error event naming the original cause —
   never a truncated answer that looks complete.

A recovered answer is one answer to the caller: every chunk carries the model that began it,
and its usage (and ``cost``, as in a non-streamed answer) accounts for every attempt the
providers bill — the cut attempt's prompt and the text it produced (estimated, since its usage
never arrived) plus the continuation's reported usage. The final usage chunk then names the
models that wrote the answer (``x_gateway.models``), and the trace has each attempt's share.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from llm_gateway.cost import ZERO_COST, CostBreakdown, compute_cost, estimate_cost
from llm_gateway.errors import (
    AllModelsFailed,
    ContentFiltered,
    GatewayError,
    ProviderBadRequest,
    ProviderError,
    ProviderStreamError,
)
from llm_gateway.exchange import Plan
from llm_gateway.model_policy import Capability, ModelPolicy
from llm_gateway.providers.base import ProviderRequest, StreamChunk, Usage
from llm_gateway.redaction import redact

if TYPE_CHECKING:
    from llm_gateway.gateway import LLMGateway


@dataclass(slots=True)
class _Opened:
    """A provider stream that has produced its first payload (``head``) and the rest (``rest``)."""

    rest: AsyncIterator[StreamChunk]
    head: list[StreamChunk] = field(default_factory=list)


class GatewayStream:
    """One streamed answer. ``await start()``, then ``async for chunk in stream``."""

    def __init__(self, gateway: LLMGateway, plan: Plan) -> None:
        self._gateway = gateway
        self.plan = plan
        self.trace_id = plan.trace_id
        self.model: ModelPolicy | None = None
        self.usage: Usage | None = None
        self.cost: CostBreakdown = ZERO_COST
        self.error: GatewayError | None = None
        self.overhead_ms = 0.0
        self._opened: _Opened | None = None
        self._sent: list[str] = []
        self._sent_tool_calls = False
        self._finished = False
        self._partial_cost = Decimal(0)
        self._partial_prompt = 0  # billed by cut attempts (estimated)
        self._partial_completion = 0
        self._attempt_start = 0  # characters sent before the current attempt began
        self._models: list[str] = []  # the models that wrote the answer, in order
        self._id = f"chatcmpl-{plan.trace_id}"
        self._created = int(time.time())
        self._closed = False
        self.cancelled = False

    async def start(self) -> None:
        """Open the stream on the first model that produces a token. Raises GatewayError."""
        try:
            self.model, self._opened = await self._gateway.runner.run(self.plan, self._open_fresh)
        except GatewayError as error:
            self.error = error
            await self._gateway.finish(self.plan, None, None, error)
            raise
        self._models.append(self.model.logical_id)
        self.overhead_ms = self._gateway.overhead_ms(self.plan)
        self.plan.ttft_ms = (time.monotonic() - self.plan.started_at) * 1000

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._events()

    def mark_finished(self) -> None:
        """The whole answer was sent (a replay from the cache ends so)."""
        self._finished = True

    def finished_cleanly(self) -> bool:
        """The answer reached its end, without an error and without the caller leaving."""
        return self._finished and self.error is None and not self.cancelled

    def ready(self) -> bool:
        """True when the next chunk is already here (received but not yet yielded), so a caller
        may batch it with the previous one into a single write without delaying anything."""
        opened = self._opened
        if opened is None:
            return False
        return bool(opened.head) or bool(getattr(opened.rest, "buffered", False))

    async def aclose(self) -> None:
        """Release the provider connection; safe to call more than once."""
        if self._opened is not None:
            await _close(self._opened.rest)
        if not self._closed:
            self._closed = True
            # Closed before the answer's end, and not by an error: the caller left.
            self.cancelled = not self._finished and self.error is None
            if self._gateway.tracer.content_chars:
                self.plan.answer_text = "".join(self._sent)
            await self._gateway.finish(
                self.plan, self.model, self.usage, self.error, cost=self.cost, stream=self
            )

    async def _events(self) -> AsyncIterator[dict[str, Any]]:
        assert self._opened is not None and self.model is not None, "start() first"
        try:
            skip = ""
            while True:
                try:
                    for chunk in self._opened.head:
                        out, skip = self._emit(chunk, skip)
                        if out is not None:
                            yield out
                    self._opened.head = []
                    async for chunk in self._opened.rest:
                        out, skip = self._emit(chunk, skip)
                        if out is not None:
                            yield out
                    break
                except ProviderError as error:
                    recovered = await self._recover(error)
                    if recovered is None:
                        yield self._error_event(error)
                        return
                    skip = ""
        finally:
            await self.aclose()

    def _emit(self, chunk: StreamChunk, skip: str) -> tuple[dict[str, Any] | None, str]:
        """Rewrite a provider chunk for the caller (or drop it); track what was sent."""
        data = chunk.data
        if chunk.usage is not None:
            self.usage = chunk.usage
            if not self.plan.include_usage:
                data.pop("usage", None)
                if not data.get("choices"):
                    return None, skip
            else:
                data["usage"] = self._caller_usage(chunk.usage, data.get("usage"))
                if len(self._models) > 1:
                    data["x_gateway"] = {"models": list(self._models), "recovered": True}
        choices = data.get("choices") or ()
        if choices:
            delta = choices[0].get("delta") or {}
            if delta.get("tool_calls"):
                self._sent_tool_calls = True
            if self._sent and "role" in delta:
                del delta["role"]  # a continuation must not announce a second message
            if chunk.content:
                self._sent.append(chunk.content)
            if chunk.finish_reason:
                self._finished = True
                self.plan.finish_reason = chunk.finish_reason
        data["id"] = self._id
        data["model"] = self._models[0] if self._models else data.get("model")
        data["created"] = self._created
        return data, skip

    def _caller_usage(self, usage: Usage, reported: Any) -> dict[str, Any]:
        """The provider's usage object plus what the cut attempts billed, and the cost."""
        out = dict(reported) if isinstance(reported, dict) else {}
        prompt = usage.prompt_tokens + self._partial_prompt
        completion = usage.completion_tokens + self._partial_completion
        out.update(prompt_tokens=prompt, completion_tokens=completion)
        out["total_tokens"] = prompt + completion
        assert self.model is not None
        out["cost"] = float(self.settled_cost(compute_cost(usage, self.model)).total)
        return out

    async def _recover(self, cause: ProviderError) -> _Opened | None:
        """Continue on the next model from what was sent; None when that is impossible."""
        assert self.model is not None
        failed = self.model
        self._gateway.runner.record_failure(failed, cause, 0.0)
        self._record_partial(failed)
        if self._sent_tool_calls or self._finished or not self._may_fall_back(cause):
            self.error = _stream_failure(cause)
            return None
        tried = frozenset(a.model for a in self.plan.attempts) | {failed.logical_id}
        try:
            self.model, opened = await self._gateway.runner.run(
                self.plan, self._open_continuation, skip=tried
            )
        except GatewayError:
            self.error = _stream_failure(cause)
            return None
        self._models.append(self.model.logical_id)
        await _close(self._opened.rest) if self._opened else None
        self._opened = opened
        return opened

    def _may_fall_back(self, cause: ProviderError) -> bool:
        """False for a failure that must reach the caller as it is: a content filter (unless the
        node allows falling back on one) is not laundered through another model mid-answer."""
        if isinstance(cause, ContentFiltered):
            return self.plan.requirements.fallback_on_content_filter
        return cause.fallback

    def _record_partial(self, policy: ModelPolicy) -> None:
        """What the cut attempt is billed: its prompt and the text it produced (estimated)."""
        tokens = self._attempt_tokens()
        cost = estimate_cost(policy, self.plan.input_tokens, tokens)
        self._partial_cost += cost
        self._partial_prompt += self.plan.input_tokens
        self._partial_completion += tokens
        self._attempt_start = sum(len(piece) for piece in self._sent)
        for attempt in reversed(self.plan.attempts):
            if attempt.model == policy.logical_id and attempt.ok:
                attempt.billed = {
                    "prompt_tokens": self.plan.input_tokens,
                    "completion_tokens": tokens,
                    "cost": str(cost),
                    "estimated": True,
                }
                break

    async def _open_fresh(self, policy: ModelPolicy, request: ProviderRequest) -> _Opened:
        return await _open_until_payload(self._gateway.runner.provider_for(policy), request)

    async def _open_continuation(self, policy: ModelPolicy, request: ProviderRequest) -> _Opened:
        sent = "".join(self._sent)
        provider = self._gateway.runner.provider_for(policy)
        if policy.has(Capability.PREFILL):
            prefilled = self._gateway.runner.request_for(
                self.plan, policy, _with_prefill(request.body, sent)
            )
            try:
                return await _open_until_payload(provider, prefilled)
            except ProviderBadRequest:
                pass  # prefill refused: restart cleanly below and check the prefix
        return await _open_matching_prefix(provider, request, sent)

    def _error_event(self, cause: ProviderError) -> dict[str, Any]:
        error = self.error or _stream_failure(cause)
        body = error.to_dict()
        body["error"]["message"] = redact(
            f"stream interrupted after {len(''.join(self._sent))} characters and could not be "
            f"recovered: {cause.describe()}"
        )
        return body

    def settled_cost(self, cost: CostBreakdown) -> CostBreakdown:
        """The final attempt's cost plus the estimated cost of partial answers it continued.

        A stream that ended without usage (no usage chunk) is estimated from the text sent.
        """
        extra = self._partial_cost
        if cost.source == ZERO_COST.source and self.model is not None:
            extra += estimate_cost(self.model, self.plan.input_tokens, self._attempt_tokens())
        if not extra:
            return cost
        return CostBreakdown(
            total=cost.total + extra,
            input=cost.input,
            cached_input=cost.cached_input,
            output=cost.output + extra,
            reasoning=cost.reasoning,
            source="estimated" if cost.source == ZERO_COST.source else f"{cost.source}+estimated",
        )

    def _attempt_tokens(self) -> int:
        """Tokens of the text the current attempt produced (about 4 characters a token)."""
        return max(1, (sum(len(piece) for piece in self._sent) - self._attempt_start) // 4)


def _with_prefill(body: Any, sent: str) -> dict[str, Any]:
    payload = dict(body)
    messages = list(payload.get("messages") or [])
    if messages and messages[-1].get("role") == "assistant":
        last = dict(messages[-1])
        last["content"] = f"{last.get('content') or ''}{sent}"
        messages[-1] = last
    else:
        messages.append({"role": "assistant", "content": sent})
    payload["messages"] = messages
    return payload


async def _open_until_payload(provider: Any, request: ProviderRequest) -> _Opened:
    """Start a provider stream and read until the first chunk worth sending."""
    rest = provider.stream(request).__aiter__()
    head: list[StreamChunk] = []
    try:
        async for chunk in rest:
            head.append(chunk)
            if chunk.has_payload or chunk.finish_reason or chunk.usage is not None:
                break
    except BaseException:
        await _close(rest)
        raise
    return _Opened(rest=rest, head=head)


async def _open_matching_prefix(provider: Any, request: ProviderRequest, sent: str) -> _Opened:
    """Restart cleanly; accept only an answer that begins with ``sent``, and skip that prefix."""
    rest = provider.stream(request).__aiter__()
    seen = ""
    try:
        async for chunk in rest:
            if not chunk.content:
                if chunk.finish_reason or chunk.usage is not None:
                    break
                continue
            seen += chunk.content
            if len(seen) < len(sent):
                if not sent.startswith(seen):
                    break
                continue
            if not seen.startswith(sent):
                break
            remainder = seen[len(sent) :]
            _set_content(chunk, remainder)
            return _Opened(rest=rest, head=[chunk])
    except BaseException:
        await _close(rest)
        raise
    await _close(rest)
    error = ProviderStreamError(
        "restarted answer does not begin with the text already sent",
        model=request.policy.logical_id,
    )
    error.counts_against_model = False
    raise error


def _set_content(chunk: StreamChunk, content: str) -> None:
    chunk.content = content
    choices = chunk.data.get("choices") or []
    if choices:
        delta = dict(choices[0].get("delta") or {})
        delta["content"] = content
        delta.pop("role", None)
        choices[0]["delta"] = delta


def _stream_failure(cause: ProviderError) -> GatewayError:
    if isinstance(cause, GatewayError) and not isinstance(cause, AllModelsFailed):
        return cause
    return ProviderStreamError(cause.message)


async def _close(iterator: AsyncIterator[Any]) -> None:
    closer = getattr(iterator, "aclose", None)
    if closer is not None:
        # Closing a broken stream must not mask the real outcome.
        with contextlib.suppress(Exception):
            await closer()
