"""Log lines as text or JSON (``GATEWAY_LOG_FORMAT``), each carrying the trace and request id of
the request it was written for, when there is one.

``ContextFilter`` (on the handler) copies the ids from :mod:`llm_gateway.log_context`;
``JsonFormatter`` writes one JSON object a line (``ts``, ``level``, ``logger``, ``message``,
``trace_id``, ``request_id``, the exception when there is one); the text form appends
``trace_id=…`` to uvicorn's usual line.
"""

from __future__ import annotations

import io
import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson
from rich.console import Console

from llm_gateway.log_context import REQUEST_ID, TRACE_ID


class ContextFilter(logging.Filter):
    """Adds ``trace_id``, ``request_id`` and ``trace_suffix`` to every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        trace_id = getattr(record, "trace_id", None) or TRACE_ID.get()
        record.trace_id = trace_id
        record.request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        record.trace_suffix = f" trace_id={trace_id}" if trace_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("trace_id", "request_id"):
            value = getattr(record, key, None)
            if value:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class JsonLinesConsole(Console):
    """A Rich console whose every printed line leaves as one JSON log line on stderr (what
    ``serve`` prints before logging starts, when ``GATEWAY_LOG_FORMAT=json``)."""

    def __init__(self, logger_name: str = "llm_gateway.serve") -> None:
        super().__init__(stderr=True, highlight=False, width=10_000)
        self._logger_name = logger_name

    def print(self, *objects: Any, **kwargs: Any) -> None:
        buffer = io.StringIO()
        plain = Console(file=buffer, width=10_000, highlight=False, color_system=None)
        kwargs.pop("soft_wrap", None)
        plain.print(*objects, soft_wrap=True, **kwargs)
        text = buffer.getvalue()
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        for line in text.splitlines():
            if line.strip():
                record = {"ts": now, "level": "INFO", "logger": self._logger_name, "message": line}
                sys.stderr.write(orjson.dumps(record).decode() + "\n")
        sys.stderr.flush()


def logging_config(base: dict[str, Any], level: str, fmt: str) -> dict[str, Any]:
    """``base`` (uvicorn's logging config, copied by the caller) with the ``llm_gateway``
    loggers at ``level``, every handler carrying the request context, in ``fmt``."""
    base.setdefault("filters", {})["context"] = {"()": "llm_gateway.log_format.ContextFilter"}
    for handler in base.get("handlers", {}).values():
        handler.setdefault("filters", []).append("context")
    if fmt == "json":
        for name in base.get("formatters", {}):
            base["formatters"][name] = {"()": "llm_gateway.log_format.JsonFormatter"}
    else:
        default = base.get("formatters", {}).get("default")
        if default is not None:
            default["fmt"] = "%(levelprefix)s %(message)s%(trace_suffix)s"
    base["loggers"]["llm_gateway"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return base
