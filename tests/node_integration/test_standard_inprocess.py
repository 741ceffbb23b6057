"""The standard integration suite on the in-process gateway (no HTTP hop to the gateway; the
gateway's OpenRouter provider talks to the simulator over loopback)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.node_integration.standard_suite import GatewayChatModelSuite

pytestmark = pytest.mark.usefixtures("process_gateway", "no_gateway_url")


class TestGatewayChatModelInProcess(GatewayChatModelSuite):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"node_name": "writer", "gateway_url": None}
