"""Upstream HTTP status and error body → one class of the gateway's error tree. One place.

    status / signal                                   class                     notes
    content filter (code, metadata.reasons, 403 text) ContentFiltered           never retried
    context length (code or message, on a 4xx)        ContextLengthExceeded     larger model next
    429                                               ProviderRateLimited       Retry-After read
    408, 5xx                                          ProviderUnavailable       Retry-After read
    402                                               ProviderAuthError         insufficient credits
    401, 403                                          ProviderAuthError
    4xx naming the model (404 "No endpoints found",   ModelNotServable          falls back;
      "not a valid model ID", code model_not_found)                             counted unless
                                                                                a feature is
                                                                                unsupported
    other 4xx                                         ProviderBadRequest        surfaced, with
                                                                                the upstream
                                                                                status; no
                                                                                fallback, not
                                                                                counted
    anything else (3xx, odd codes)                    ProviderError

Bodies are ``{"error": {"code", "message", "metadata"}}`` with ``code`` a number (OpenRouter,
https://openrouter.ai/docs/api/reference/errors-and-debugging) or a string (OpenAI,
``"context_length_exceeded"``, ``"content_filter"``), or anything else a proxy in between sends
(HTML, plain text, ``{"detail": ...}``). Messages name the provider, the model and the upstream
status, quote the upstream message (shortened) and never contain the API key: the caller passes it
as ``secret`` and every occurrence is masked.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from llm_gateway.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    ModelNotServable,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderRateLimited,
    ProviderStreamError,
    ProviderUnavailable,
)
from llm_gateway.limits.upstream_headers import exhausted_wait
from llm_gateway.redaction import redact as redact_secrets

MAX_MESSAGE_CHARS = 400
MAX_RETRY_AFTER_S = 24 * 3600.0

_STATUS_CLASSES: dict[int, type[ProviderError]] = {
    401: ProviderAuthError,
    402: ProviderAuthError,
    403: ProviderAuthError,
    408: ProviderUnavailable,
    429: ProviderRateLimited,
}
_CONTENT_FILTER_CODES = frozenset(
    {"content_filter", "content_filtered", "content_policy_violation", "moderation"}
)
_CONTEXT_CODES = frozenset({"context_length_exceeded", "context_window_exceeded"})
_CONTEXT_TEXT = re.compile(
    r"context[ _-]?(length|window)|maximum context|prompt is too long|input is too long"
    r"|too many (input |prompt )?tokens|reduce the length of the (messages|prompt)",
    re.IGNORECASE,
)
# OpenRouter's answers about the model rather than the request: "No endpoints found for X" /
# "No endpoints found that support tool use" (404), "X is not a valid model ID" (400); OpenAI's
# code model_not_found (404).
_MODEL_CODES = frozenset({"model_not_found", "invalid_model", "model_not_available"})
_MODEL_TEXT = re.compile(
    r"no endpoints found|is not a valid model|model[ _]not[ _]found|unknown model|no such model"
    r"|\bmodel\b.{0,80}\b(does not exist|not found|not available|not supported)",
    re.IGNORECASE,
)
# Of those, the ones about a feature the request uses (the model exists): not the model's fault.
_FEATURE_TEXT = re.compile(r"\bsupport|\bdata policy|\bprovider preferences", re.IGNORECASE)
# Request-shaped statuses whose number the caller should see as is.
_SURFACED_STATUSES = frozenset({400, 404, 409, 413, 415, 422})

# OpenRouter answers 403 for moderation flags and guardrail blocks as well as for permissions.
_FILTER_TEXT = re.compile(
    r"moderat|flagged|guardrail|content[ _-]?(filter|policy)|safety", re.IGNORECASE
)


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    model: str,
    provider: str,
    secret: str | None = None,
    now: Callable[[], float] = time.time,
) -> ProviderError:
    """The error for a non-2xx answer (``body`` as received, JSON or not)."""
    payload = _json_or_none(body)
    if isinstance(payload, dict):
        return error_from_payload(
            payload,
            status=status,
            headers=headers,
            model=model,
            provider=provider,
            secret=secret,
            now=now,
            raw=body,
        )
    text = _collapse(body.decode("utf-8", "replace")) or "(empty body)"
    return _build(
        _class_for(status, None, text, {}),
        status,
        text,
        None,
        headers,
        model=model,
        provider=provider,
        secret=secret,
        now=now,
    )


def error_from_payload(
    payload: Mapping[str, Any],
    *,
    status: int | None,
    headers: Mapping[str, str] | None = None,
    model: str,
    provider: str,
    secret: str | None = None,
    now: Callable[[], float] = time.time,
    raw: bytes | None = None,
) -> ProviderError:
    """The error for a parsed error body, including a 200 body that is an error object.

    With ``status`` None or 2xx the HTTP status is taken from a numeric ``error.code`` (OpenRouter
    sends the status there), else 502.
    """
    error = payload.get("error")
    detail = _mapping(error)
    code = detail.get("code")
    if status is None or 200 <= status < 300:
        status = _status_from_code(code)
    metadata = _mapping(detail.get("metadata"))
    message = _message_of(payload, error, detail, metadata, raw)
    # A numeric code only repeats the status; a string code ("rate_limit_exceeded") says more.
    code_text = code if isinstance(code, str) and code and not code.isdigit() else None
    cls = _class_for(status, code_text, message, metadata)
    return _build(
        cls,
        status,
        message,
        code_text,
        headers or {},
        metadata=metadata,
        model=model,
        provider=provider,
        secret=secret,
        now=now,
    )


def stream_error_from_event(
    payload: Mapping[str, Any], *, model: str, provider: str, secret: str | None = None
) -> ProviderError:
    """The error an event of a 200 stream stands for: a top-level ``error`` object and/or
    ``finish_reason`` "error" → ProviderStreamError with the upstream message (OpenRouter's
    mid-stream format, https://openrouter.ai/docs/api/reference/streaming); a content filter
    (``finish_reason`` "content_filter", a filter code, moderation reasons) → ContentFiltered."""
    error = payload.get("error")
    detail = _mapping(error)
    metadata = _mapping(detail.get("metadata"))
    code = detail.get("code")
    code_text = str(code) if isinstance(code, int | str) and not isinstance(code, bool) else None
    choices = payload.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    finish = first.get("finish_reason") if isinstance(first, Mapping) else None
    filtered = is_content_filter_finish(finish) or code_text in _CONTENT_FILTER_CODES
    if filtered or metadata.get("reasons"):
        text = f"{provider}: output of model {model} was withheld by a content filter"
        return ContentFiltered(redact(text, secret), model=model, provider=provider)
    if error:
        message = _shorten(redact(_message_of(payload, error, detail, metadata, None), secret))
    else:
        message = f"finish_reason {finish!r} without an error object"
    suffix = f" (code {code_text})" if code_text else ""
    numeric = _status_from_code(code) if code_text and code_text.isdigit() else None
    return ProviderStreamError(
        f"{provider}: stream of model {model} ended with an error event: {message}{suffix}",
        model=model,
        provider=provider,
        upstream_status=numeric,
        code=code_text if code_text and not code_text.isdigit() else None,
    )


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date (RFC 9110
    §10.2.3). None when absent or unreadable; clamped to [0, 24 h]."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def is_content_filter_finish(finish_reason: object) -> bool:
    """True for the finish reason OpenAI and OpenRouter use when output was filtered."""
    return finish_reason == "content_filter"


def _class_for(
    status: int, code: str | None, message: str, metadata: Mapping[str, Any]
) -> type[ProviderError]:
    if code in _CONTENT_FILTER_CODES or metadata.get("reasons") or metadata.get("flagged_input"):
        return ContentFiltered
    if status == 403 and _FILTER_TEXT.search(message):
        return ContentFiltered
    if 400 <= status < 500 and (code in _CONTEXT_CODES or _CONTEXT_TEXT.search(message)):
        return ContextLengthExceeded
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status >= 500:
        return ProviderUnavailable
    if 400 <= status < 500:
        if code in _MODEL_CODES or _MODEL_TEXT.search(message):
            return ModelNotServable
        return ProviderBadRequest
    return ProviderError


def _build(
    cls: type[ProviderError],
    status: int,
    message: str,
    code: str | None,
    headers: Mapping[str, str],
    *,
    metadata: Mapping[str, Any] | None = None,
    model: str,
    provider: str,
    secret: str | None,
    now: Callable[[], float],
) -> ProviderError:
    metadata = metadata or {}
    message = _shorten(redact(message, secret))
    upstream = metadata.get("provider_name")
    via = f" (upstream provider {upstream})" if isinstance(upstream, str) and upstream else ""
    reasons = metadata.get("reasons")
    why = f" [reasons: {', '.join(map(str, reasons))}]" if isinstance(reasons, list) else ""
    text = f"{provider} returned {status} for model {model}{via}: {message}{why}"
    if cls is ProviderAuthError and status == 402:
        text = f"{provider}: insufficient credits for model {model} (402): {message}"
        code = "insufficient_credits"
    if cls is ModelNotServable:
        code = code or ModelNotServable.code
    error = cls(
        redact(text, secret),
        model=model,
        provider=provider,
        upstream_status=status,
        retry_after=_retry_after(headers, metadata, now),
        code=None if cls in (ContentFiltered, ContextLengthExceeded) else code,
    )
    if cls is ModelNotServable and _FEATURE_TEXT.search(message):
        error.counts_against_model = False
    elif cls is ProviderBadRequest and status in _SURFACED_STATUSES:
        error.status_code = status  # the caller sees the upstream's 404/413/422, not a 400
    return error


def _retry_after(
    headers: Mapping[str, str], metadata: Mapping[str, Any], now: Callable[[], float]
) -> float | None:
    seconds = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"), now)
    if seconds is None:
        seconds = exhausted_wait(headers, now)  # x-ratelimit-remaining-*: 0, until its reset
    if seconds is None:
        # Seen in OpenRouter 429 bodies relaying an upstream limit (not in the documented schema).
        hint = metadata.get("retry_after_seconds")
        if isinstance(hint, int | float) and not isinstance(hint, bool):
            seconds = min(max(float(hint), 0.0), MAX_RETRY_AFTER_S)
    return seconds


def _status_from_code(code: object) -> int:
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
        return code
    if isinstance(code, str) and code.isdigit() and 400 <= int(code) <= 599:
        return int(code)
    return 502


def _message_of(
    payload: Mapping[str, Any],
    error: object,
    detail: Mapping[str, Any],
    metadata: Mapping[str, Any],
    raw: bytes | None,
) -> str:
    message = detail.get("message")
    if not isinstance(message, str) or not message:
        candidates = (error, payload.get("message"), payload.get("detail"))
        message = next((c for c in candidates if isinstance(c, str) and c), None)
    if message is None:
        message = raw.decode("utf-8", "replace") if raw else "(no message)"
    raw_detail = metadata.get("raw")
    if isinstance(raw_detail, str) and raw_detail and raw_detail not in message:
        message = f"{message} ({raw_detail})"
    return _collapse(message)


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` and every registered secret masked, in any case, whole or by a
    prefix of 8 characters or more (:mod:`llm_gateway.redaction`)."""
    return redact_secrets(text, secret)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _shorten(text: str) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return text[: MAX_MESSAGE_CHARS - 1] + "…"
