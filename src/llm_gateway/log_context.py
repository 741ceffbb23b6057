"""The request a log line belongs to: the middleware sets these for the request's task, and
every log record made while it runs carries them (:mod:`llm_gateway.log_format`)."""

from __future__ import annotations

from contextvars import ContextVar

TRACE_ID: ContextVar[str | None] = ContextVar("llm_gateway_trace_id", default=None)
REQUEST_ID: ContextVar[str | None] = ContextVar("llm_gateway_request_id", default=None)
