"""Prometheus metrics, one registry per gateway.

The request path only bumps plain in-process counters (:mod:`.recording`); collectors turn them
into Prometheus families when ``GET /metrics`` is scraped (:mod:`.families`, :mod:`.genai`,
:mod:`.store`). Budgets and rate limits plug in with :meth:`GatewayMetrics.add_collector`.
"""

from llm_gateway.metrics.recording import CONTENT_TYPE, MAX_CLIENTS, FamilySource, GatewayMetrics

__all__ = ["CONTENT_TYPE", "MAX_CLIENTS", "FamilySource", "GatewayMetrics"]
