"""The legacy entry point, kept working: ``get_llm_client(purpose, model_name)``.

    from llm_gateway.llm_service import get_llm_client
    model_client = get_llm_client("formatting", "gemini-2.5-flash")

returns a LangChain chat model (a :class:`LegacyChatModel`). Each request takes one of two paths,
decided per request by :func:`llm_gateway.rollout.choose_arm` on the live flags, bucketed on the
client's ``user``, else its ``session_id``, else its ``trace_id`` (sticky: one key, one arm):

- **v1** — exactly ``model_name``, direct to its provider: no selection, no fallback, today's
  behaviour (:mod:`llm_gateway.node_integration.direct_backend`);
- **v2** — the gateway, for the node :data:`PURPOSE_NODES` maps ``purpose`` to (selection by
  the node's requirements; ``model_name`` is then not used).

With shadow traffic on (``GATEWAY_V2_SHADOW_PERCENTAGE``), a share of the v1 requests also
runs through v2 in the background, compared and recorded, never changing the caller's answer.

``response_metadata["gateway_arm"]`` says which path answered; the ledger row and the trace of
the request record it too (``arm``). With ``GATEWAY_URL`` set, v1 still goes direct, and its
record is reported to that gateway afterwards, in the background
(:mod:`llm_gateway.rollout.v1_reporter`), so the served gateway's ledger holds both arms.
docs/langchain.md has the table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from llm_gateway.node_integration.backends import Backend, CallContext, Completion, StreamMeta
from llm_gateway.node_integration.chat_model import GatewayChatModel
from llm_gateway.node_integration.direct_backend import DirectProviderBackend
from llm_gateway.rollout import choose_arm
from llm_gateway.rollout.flags import RolloutFlags
from llm_gateway.rollout.remote_flags import remote_flags
from llm_gateway.rollout.shadow_backend import with_shadow
from llm_gateway.rollout.v1_reporter import v1_reporter

PURPOSE_NODES: dict[str, str] = {
    "writing": "writer",
    "writer": "writer",
    "formatting": "formatter",
    "formatter": "formatter",
    "evaluation": "evaluator",
    "evaluator": "evaluator",
    "search": "search_perplexity",
    "research": "search_perplexity",
    "qa": "qa_default",
    "quality_assurance": "qa_default",
    "citation": "citation_master",
    "citations": "citation_master",
}
"""Legacy purpose → gateway node (v2). Any other purpose goes to the ``default`` node."""


def node_for_purpose(purpose: str) -> str:
    """The node a legacy ``purpose`` is served as on v2 (``default`` when not in the table)."""
    return PURPOSE_NODES.get(purpose.strip().lower(), "default")


class LegacyChatModel(GatewayChatModel):
    """A chat model for legacy code: v1 (``legacy_model``, direct) or v2 (the gateway, node of
    ``purpose``), chosen on every request."""

    purpose: str
    legacy_model: str
    session_id: str | None = None
    """A stable key for the rollout's bucketing when there is no ``user``."""

    def _backend(self) -> Backend:
        key = self.user or self.session_id or self.trace_id
        live: RolloutFlags | None
        secret = self.api_key.get_secret_value() if self.api_key else None
        if self.gateway_url:  # a remote gateway: its live flags, followed in the background
            live = remote_flags(self.gateway_url, secret).current()
        else:
            flags = getattr(self._gateway, "flags", None)
            live = flags.current() if flags is not None else None
        if choose_arm(self.purpose, key, node=self.node_name, flags=live) == "v1":
            # Remote: v1 stays direct (the rollback path must not need the gateway); its record
            # is reported to that gateway afterwards, in the background.
            reporter = v1_reporter(self.gateway_url, secret) if self.gateway_url else None
            v1 = DirectProviderBackend(self.legacy_model, self._gateway, reporter=reporter)
            # Remote: the shadow share is the gateway's too (an admin's, or its rollback's 0).
            share = live.shadow_percentage if self.gateway_url and live is not None else None
            return with_shadow(v1, node=self.node_name, purpose=self.purpose, percentage=share)
        return ArmBackend(super()._backend(), "v2")


class ArmBackend:
    """A backend whose requests carry the rollout arm they were sent on (ledger, trace)."""

    def __init__(self, inner: Backend, arm: str) -> None:
        self.inner = inner
        self.arm = arm

    async def complete(self, body: dict[str, Any], context: CallContext) -> Completion:
        done = await self.inner.complete(body, dataclasses.replace(context, arm=self.arm))
        return dataclasses.replace(done, arm=self.arm)

    async def stream(
        self, body: dict[str, Any], context: CallContext
    ) -> AsyncIterator[tuple[dict[str, Any], StreamMeta]]:
        source = self.inner.stream(body, dataclasses.replace(context, arm=self.arm))
        try:
            async for chunk, meta in source:
                yield chunk, dataclasses.replace(meta, arm=self.arm)
        finally:
            closer = getattr(source, "aclose", None)
            if closer is not None:
                await closer()

    async def aclose(self) -> None:
        """The inner backend is shared (the process's gateway, or a pooled remote one)."""


def get_llm_client(purpose: str, model_name: str, **kwargs: Any) -> LegacyChatModel:
    """The chat model legacy code asked for: ``model_name`` for ``purpose``. Keyword arguments
    are :class:`~llm_gateway.node_integration.GatewayChatModel` fields (``temperature``,
    ``max_tokens``, ``trace_id``, ``user``, ...)."""
    return LegacyChatModel(
        purpose=purpose,
        legacy_model=model_name,
        node_name=node_for_purpose(purpose),
        **kwargs,
    )
