"""HTTP middleware of the gateway (pure ASGI). ``GatewayMiddleware`` is importable from here and
from ``llm_gateway.middleware.gateway_middleware``, as the migration guide's ``main.py`` does."""

from llm_gateway.middleware.gateway_middleware import GatewayMiddleware

__all__ = ["GatewayMiddleware"]
