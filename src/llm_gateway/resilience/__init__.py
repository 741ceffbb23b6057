"""Resilience decisions: retry and backoff (``retry``), per-model circuit breaking (``circuit``)."""

from llm_gateway.resilience.circuit import (
    CLOSED_CIRCUIT,
    Circuit,
    CircuitBreakers,
    CircuitConfig,
    CircuitState,
)
from llm_gateway.resilience.retry import RetryAction, RetryDecision, RetryPolicy

__all__ = [
    "CLOSED_CIRCUIT",
    "Circuit",
    "CircuitBreakers",
    "CircuitConfig",
    "CircuitState",
    "RetryAction",
    "RetryDecision",
    "RetryPolicy",
]
