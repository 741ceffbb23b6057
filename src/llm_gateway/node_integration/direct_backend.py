"""The legacy (v1) path: one named model, straight to its provider — no selection, no fallback,
no retries, no budgets — which is what code calling a hard-coded model did before the gateway.
Each request leaves a ledger row (``arm`` ``v1``) and a trace
(:mod:`llm_gateway.rollout.v1_record`), so the rollout compares v1 and v2 from records — in the
process's gateway, or, given a ``reporter`` (a shim whose gateway is remote), in that gateway's
records, reported in the background after the request. The
provider is the one the catalogue names for that model (``model_policies.yaml``), with its keys
and connection pool from the process's gateway, so v1 and v2 reach the same upstream and differ
only in what the gateway adds.

Raises :class:`~llm_gateway.errors.NotFound` for a model the catalogue does not have, and the
provider's :class:`~llm_gateway.errors.ProviderError` as it is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from llm_gateway.errors import NotFound, echo
from llm_gateway.exchange import resolve_deadlines
from llm_gateway.model_policy import DEFAULT_DEADLINES, Deadlines, ModelPolicy
from llm_gateway.node_integration.backends import (
    CallContext,
    Completion,
    StreamMeta,
    gateway_or_process,
)
from llm_gateway.providers.base import ProviderRequest, Usage
from llm_gateway.request_info import new_trace_id
from llm_gateway.rollout.v1_record import record_v1
from llm_gateway.tokens import estimate_output_tokens

if TYPE_CHECKING:
    from llm_gateway.gateway import LLMGateway
    from llm_gateway.rollout.v1_reporter import V1Reporter


class DirectProviderBackend:
    """Every request to ``model_name`` (a logical id or a provider model id), on its provider."""

    arm = "v1"

    def __init__(
        self,
        model_name: str,
        gateway: LLMGateway | None = None,
        *,
        reporter: V1Reporter | None = None,
    ) -> None:
        self.model_name = model_name
        self._gateway = gateway
        self.reporter = reporter

    @property
    def gateway(self) -> LLMGateway:
        return gateway_or_process(self._gateway)

    def _policy(self) -> ModelPolicy:
        registry = self.gateway.registry
        policy = registry.find_policy(self.model_name) or registry.find_by_provider_model_id(
            self.model_name
        )
        if policy is None:
            raise NotFound(
                f"unknown model '{echo(self.model_name)}': not a logical model id or provider "
                "model id of model_policies.yaml",
                param="model",
                code="model_not_found",
            )
        return policy

    def _request(self, policy: ModelPolicy, body: dict[str, Any], trace: str) -> ProviderRequest:
        settings = self.gateway.settings
        defaults = Deadlines(
            headers_s=settings.GATEWAY_HEADERS_TIMEOUT,
            first_token_s=settings.GATEWAY_FIRST_TOKEN_TIMEOUT,
            stall_s=settings.GATEWAY_STALL_TIMEOUT,
            total_s=settings.GATEWAY_TOTAL_TIMEOUT,
        ).merged_over(DEFAULT_DEADLINES)
        stream = bool(body.get("stream"))
        output = None if stream else estimate_output_tokens(body, None)
        deadlines = resolve_deadlines(Deadlines(), policy.deadlines, defaults, output)
        payload = {**body, "model": policy.provider_model_id}
        return ProviderRequest(
            body=payload,
            policy=policy,
            deadlines=deadlines,
            deadline_at=time.monotonic() + float(deadlines.total_s or 120.0),
            trace_id=trace,
        )

    async def complete(self, body: dict[str, Any], context: CallContext) -> Completion:
        policy = self._policy()
        trace = context.trace_id or new_trace_id()
        provider = self.gateway.providers.get(policy.provider)
        started = time.monotonic()
        try:
            response = await provider.complete(self._request(policy, body, trace))
        except BaseException as exc:
            self._record(context, policy, trace, started, None, exc, stream=False)
            raise
        cost = self._record(context, policy, trace, started, response.usage, None, stream=False)
        answer = dict(response.body)
        answer["model"] = policy.logical_id
        return Completion(answer, policy.logical_id, trace, float(cost.total), arm=self.arm)

    async def stream(
        self, body: dict[str, Any], context: CallContext
    ) -> AsyncIterator[tuple[dict[str, Any], StreamMeta]]:
        policy = self._policy()
        trace = context.trace_id or new_trace_id()
        provider = self.gateway.providers.get(policy.provider)
        meta = StreamMeta(policy.logical_id, trace, arm=self.arm)
        started = time.monotonic()
        usage: Usage | None = None
        error: BaseException | None = None
        ttft_ms: float | None = None
        source = provider.stream(self._request(policy, body, trace)).__aiter__()
        try:
            async for chunk in source:
                usage = chunk.usage or usage
                if ttft_ms is None:
                    ttft_ms = (time.monotonic() - started) * 1000
                yield chunk.data, meta
        except BaseException as exc:
            error = exc
            raise
        finally:
            closer = getattr(source, "aclose", None)
            if closer is not None:
                await closer()
            self._record(context, policy, trace, started, usage, error, stream=True, ttft=ttft_ms)

    def _record(
        self,
        context: CallContext,
        policy: ModelPolicy,
        trace: str,
        started: float,
        usage: Usage | None,
        error: BaseException | None,
        *,
        stream: bool,
        ttft: float | None = None,
    ) -> Any:
        cancelled = isinstance(error, GeneratorExit | asyncio.CancelledError)
        return record_v1(
            self.gateway,
            node=context.node or "default",
            policy=policy,
            trace_id=trace,
            user=context.user,
            started_at=started,
            usage=usage,
            error=None if cancelled else error,
            stream=stream,
            status="cancelled" if cancelled else None,
            ttft_ms=ttft,
            reporter=self.reporter,
        )

    async def aclose(self) -> None:
        """Nothing to release: the providers belong to the process's gateway."""
