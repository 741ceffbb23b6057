"""The benchmark's own errors, rooted in the gateway's tree so the CLI reports them alike."""

from __future__ import annotations

from llm_gateway.errors import GatewayError


class BenchError(GatewayError):
    """The benchmark could not set up or run a server (message says which and why)."""

    error_type = "bench_error"
