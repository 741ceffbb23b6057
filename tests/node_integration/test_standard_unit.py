"""LangChain's standard unit suite for ``GatewayChatModel`` (langchain-tests).

Skipped by the suite itself, and why that is right here:
- ``test_serdes``: the client is not LangChain-serializable (``is_lc_serializable`` is False):
  it stands for a binding to a gateway (in process or at a URL), not a self-contained config.
"""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests

from llm_gateway.node_integration import GatewayChatModel


class TestGatewayChatModelUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[GatewayChatModel]:
        return GatewayChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"node_name": "writer", "gateway_url": None}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"GATEWAY_URL": "http://127.0.0.1:8000", "GATEWAY_API_KEY": "sk-client-key"},
            {"node_name": "writer"},
            {"gateway_url": "http://127.0.0.1:8000", "api_key": "sk-client-key"},
        )

    @property
    def model_override_value(self) -> str:
        return "claude-sonnet"
