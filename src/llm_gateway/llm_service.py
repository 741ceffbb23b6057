"""The legacy entry point, kept working: ``get_llm_client(purpose, model_name)``.

    from llm_gateway.llm_service import get_llm_client
    model_client = get_llm_client("formatting", "gemini-2.5-flash")

returns a LangChain chat model (a :class:`LegacyChatModel`). Each request takes one of two paths,
decided per request by :func:`llm_gateway.rollout.choose_arm`:

- **v1** — exactly ``model_name``, direct to its provider: no selection, no fallback, today's
  behaviour (:mod:`llm_gateway.node_integration.direct_backend`);
- **v2** — the gateway, for the node :data:`PURPOSE_NODES` maps ``purpose`` to (selection by
  the node's requirements; ``model_name`` is then not used).

With shadow traffic on (``GATEWAY_V2_SHADOW_PERCENTAGE``), a share of the v1 requests also
runs through v2 in the background, compared and recorded, never changing the caller's answer.

``response_metadata["gateway_arm"]`` says which path answered. docs/langchain.md has the table.
"""

from __future__ import annotations

from typing import Any

from llm_gateway.node_integration.backends import Backend
from llm_gateway.node_integration.chat_model import GatewayChatModel
from llm_gateway.node_integration.direct_backend import DirectProviderBackend
from llm_gateway.rollout import choose_arm
from llm_gateway.rollout.shadow_backend import with_shadow

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

    def _backend(self) -> Backend:
        if choose_arm(self.purpose, self.user or self.trace_id) == "v1":
            v1 = DirectProviderBackend(self.legacy_model, self._gateway)
            return with_shadow(v1, node=self.node_name, purpose=self.purpose)
        return super()._backend()


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
