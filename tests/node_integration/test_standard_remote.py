"""The standard integration suite on a served gateway (``gateway_url``, as ``GATEWAY_URL``)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.node_integration.standard_suite import GatewayChatModelSuite


@pytest.fixture(autouse=True)
def _url(served_gateway: str, request: pytest.FixtureRequest) -> None:
    request.cls.url = served_gateway


class TestGatewayChatModelRemote(GatewayChatModelSuite):
    url = ""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"node_name": "writer", "gateway_url": self.url}
