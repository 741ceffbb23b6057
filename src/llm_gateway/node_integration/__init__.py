"""LangChain chat models for agent nodes, answered through the gateway (docs/langchain.md).

    from llm_gateway.node_integration import get_node_client_factory
    client_factory = get_node_client_factory()
    model_client = client_factory.create_formatter_client("formatter")

Needs langchain-core (``pip install 'llm-gateway[langchain]'``).
"""

from __future__ import annotations

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "llm_gateway.node_integration needs langchain-core: pip install 'llm-gateway[langchain]'"
    ) from exc

from llm_gateway.node_integration.backends import RemoteGatewayError
from llm_gateway.node_integration.chat_model import GatewayChatModel
from llm_gateway.node_integration.factory import (
    NodeClientFactory,
    get_node_client_factory,
    set_node_client_factory,
)
from llm_gateway.selection.scoring import SelectionStrategy

__all__ = [
    "GatewayChatModel",
    "NodeClientFactory",
    "RemoteGatewayError",
    "SelectionStrategy",
    "get_node_client_factory",
    "set_node_client_factory",
]
