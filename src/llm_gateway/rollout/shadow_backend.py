"""``ShadowingBackend``: the legacy v1 backend with shadow traffic — each call in the shadow
share is answered by v1 as it would be, and once v1 is done (answered or failed) its outcome
and the request are handed to the gateway's :class:`~llm_gateway.rollout.shadow.ShadowRunner`
for the v2 run in the background. A stream is passed through chunk by chunk and read as it goes
(text, usage); one the caller abandons is not shadowed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from llm_gateway.cost import compute_cost
from llm_gateway.errors import GatewayError
from llm_gateway.node_integration.backends import Backend, CallContext, Completion, StreamMeta
from llm_gateway.providers.base import Usage
from llm_gateway.rollout.shadow import V1Outcome, shadow_runner
from llm_gateway.rollout.shadow_budget import in_shadow_share, shadow_percentage
from llm_gateway.rollout.shadow_text import output_text, stream_text
from llm_gateway.settings import get_settings

if TYPE_CHECKING:
    from llm_gateway.gateway import LLMGateway
    from llm_gateway.node_integration.direct_backend import DirectProviderBackend


class ShadowingBackend:
    """The v1 backend, with a shadow v2 run after each call in the shadow share."""

    arm = "v1"

    def __init__(
        self,
        v1: Backend,
        gateway: LLMGateway,
        *,
        node: str,
        purpose: str,
        percentage: int | None = None,
    ) -> None:
        self._v1 = v1
        self._node = node
        self._purpose = purpose
        self._percentage = percentage  # None: the runner's (this process's flags and settings)
        self.runner = shadow_runner(gateway)

    def _wants(self, context: CallContext) -> bool:
        key = context.user or context.trace_id
        if self._percentage is None:
            return self.runner.wants(key)
        return in_shadow_share(key, self._percentage)

    async def complete(self, body: dict[str, Any], context: CallContext) -> Completion:
        if not self._wants(context):
            return await self._v1.complete(body, context)
        started = time.monotonic()
        try:
            answer = await self._v1.complete(body, context)
        except GatewayError as error:
            self._launch(body, self._failed(body, error, context, started, stream=False))
            raise
        latency = (time.monotonic() - started) * 1000
        cost = Decimal(str(answer.cost)) if answer.cost is not None else None
        v1 = V1Outcome(answer.model, answer.trace_id, latency, output_text(answer.body), cost)
        self._launch(body, v1)
        return answer

    async def stream(
        self, body: dict[str, Any], context: CallContext
    ) -> AsyncIterator[tuple[dict[str, Any], StreamMeta]]:
        source = self._v1.stream(body, context)
        try:
            if not self._wants(context):
                async for item in source:
                    yield item
            else:
                async for item in self._read_along(source, body, context):
                    yield item
        finally:  # ended, failed or left by the caller: the provider's stream closes now
            closer = getattr(source, "aclose", None)
            if closer is not None:
                await closer()

    async def _read_along(
        self,
        source: AsyncIterator[tuple[dict[str, Any], StreamMeta]],
        body: dict[str, Any],
        context: CallContext,
    ) -> AsyncIterator[tuple[dict[str, Any], StreamMeta]]:
        """``source``'s chunks as they come; once it ended (or failed), the shadow."""
        started = time.monotonic()
        chunks: list[Mapping[str, Any]] = []
        meta: StreamMeta | None = None
        try:
            async for chunk, meta in source:
                chunks.append(chunk)
                yield chunk, meta
        except GatewayError as error:
            self._launch(body, self._failed(body, error, context, started, stream=True))
            raise
        latency = (time.monotonic() - started) * 1000
        model = meta.model if meta is not None else self._model_of(body)
        text, usage = stream_text(chunks)
        trace_id = meta.trace_id if meta is not None else context.trace_id
        cost = self._stream_cost(model, usage)
        self._launch(body, V1Outcome(model, trace_id, latency, text, cost, stream=True))

    def _launch(self, body: Mapping[str, Any], v1: V1Outcome) -> None:
        self.runner.launch(body, self._node, self._purpose, v1)

    def _failed(
        self,
        body: Mapping[str, Any],
        error: GatewayError,
        context: CallContext,
        started: float,
        *,
        stream: bool,
    ) -> V1Outcome:
        return V1Outcome(
            model=self._model_of(body),
            trace_id=context.trace_id,
            latency_ms=(time.monotonic() - started) * 1000,
            error=f"{error.error_type}: {error}",
            stream=stream,
        )

    def _model_of(self, body: Mapping[str, Any]) -> str:
        return str(getattr(self._v1, "model_name", None) or body.get("model") or "?")

    def _stream_cost(self, model: str, usage: Usage | None) -> Decimal | None:
        gateway = self.runner.gateway
        policy = gateway.registry.find_policy(model) if gateway is not None else None
        if policy is None or usage is None:
            return None
        return compute_cost(usage, policy).total

    async def aclose(self) -> None:
        await self._v1.aclose()


def with_shadow(
    v1: DirectProviderBackend, *, node: str, purpose: str, percentage: int | None = None
) -> Backend:
    """``v1``, shadowed through v2 (the gateway, ``node``) when shadow traffic is on; ``v1``
    itself when it is off (nothing added to the request path). ``percentage``: the share in
    force when it is not this process's (a legacy client of a remote gateway follows that
    gateway's live flags); None: this process's (:func:`shadow_percentage`)."""
    share = shadow_percentage(get_settings(), v1.gateway) if percentage is None else percentage
    if share <= 0:
        return v1
    return ShadowingBackend(v1, v1.gateway, node=node, purpose=purpose, percentage=percentage)
