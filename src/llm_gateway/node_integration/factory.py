"""``get_node_client_factory()``: chat models for the agent nodes of the migration guide.

    factory = get_node_client_factory()
    writer = factory.create_writer_client(
        node_name="writer", strategy=SelectionStrategy.BALANCED, trace_id=state.get("trace_id")
    )
    response = await writer.ainvoke(messages)

``create_client(node_name, strategy=..., trace_id=..., **model_kwargs)`` makes one for any node;
the family helpers make one for their family's node (a name given must belong to the family:
``create_search_client("search_perplexity")``), with the family's default strategy when none is
given (``None``: the node's ``default_strategy`` in node_requirements.yaml, else balanced).
Keyword arguments are :class:`GatewayChatModel` fields (``model``, ``temperature``,
``max_tokens``, ``user``, ``gateway_url``, ...) or, for anything else, Chat Completions fields
sent with every request.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from llm_gateway.node_integration.chat_model import GatewayChatModel
from llm_gateway.selection.scoring import SelectionStrategy

FAMILIES: dict[str, tuple[str, str]] = {
    # helper: (default node, node names of the family, as a pattern)
    "writer": ("writer", "writer*"),
    "formatter": ("formatter", "formatter*"),
    "evaluator": ("evaluator", "evaluator*"),
    "search": ("search_perplexity", "search_*"),
    "qa": ("qa_default", "qa_*"),
    "citation": ("citation_master", "citation*"),
}


class NodeClientFactory:
    """Makes :class:`GatewayChatModel` clients; ``gateway`` pins an in-process ``LLMGateway``
    (default: the process's, or the served one at ``GATEWAY_URL`` when that is set)."""

    def __init__(self, gateway: Any = None) -> None:
        self.gateway = gateway

    def create_client(
        self,
        node_name: str,
        strategy: SelectionStrategy | str | None = None,
        trace_id: str | None = None,
        **model_kwargs: Any,
    ) -> GatewayChatModel:
        """A chat model for ``node_name``; its requirements drive the gateway's selection."""
        fields = set(GatewayChatModel.model_fields) | {"model_name", "stop_sequences"}
        extra = {k: model_kwargs.pop(k) for k in list(model_kwargs) if k not in fields}
        if extra:
            model_kwargs["model_kwargs"] = {**model_kwargs.get("model_kwargs", {}), **extra}
        client = GatewayChatModel(
            node_name=node_name, strategy=strategy, trace_id=trace_id, **model_kwargs
        )
        return client.with_gateway(self.gateway) if self.gateway is not None else client

    def _family(self, family: str, node_name: str | None, **kwargs: Any) -> GatewayChatModel:
        default, pattern = FAMILIES[family]
        node = node_name or default
        if not fnmatch.fnmatchcase(node, pattern):
            raise ValueError(
                f"'{node}' is not a {family} node (expected a name matching '{pattern}'); "
                "use create_client() for any node"
            )
        return self.create_client(node, **kwargs)

    def create_writer_client(self, node_name: str = "writer", **kwargs: Any) -> GatewayChatModel:
        return self._family("writer", node_name, **kwargs)

    def create_formatter_client(
        self, node_name: str = "formatter", **kwargs: Any
    ) -> GatewayChatModel:
        return self._family("formatter", node_name, **kwargs)

    def create_evaluator_client(
        self, node_name: str = "evaluator", **kwargs: Any
    ) -> GatewayChatModel:
        return self._family("evaluator", node_name, **kwargs)

    def create_search_client(
        self, node_name: str = "search_perplexity", **kwargs: Any
    ) -> GatewayChatModel:
        return self._family("search", node_name, **kwargs)

    def create_qa_client(self, node_name: str = "qa_default", **kwargs: Any) -> GatewayChatModel:
        return self._family("qa", node_name, **kwargs)

    def create_citation_client(
        self, node_name: str = "citation_master", **kwargs: Any
    ) -> GatewayChatModel:
        return self._family("citation", node_name, **kwargs)


_factory: NodeClientFactory | None = None


def get_node_client_factory() -> NodeClientFactory:
    """The process's factory (its clients use the process's gateway, or ``GATEWAY_URL``)."""
    global _factory
    if _factory is None:
        _factory = NodeClientFactory()
    return _factory


def set_node_client_factory(factory: NodeClientFactory | None) -> None:
    """Install a factory (e.g. one pinned to a test's gateway); ``None`` resets."""
    global _factory
    _factory = factory
