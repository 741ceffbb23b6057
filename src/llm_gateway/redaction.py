"""Masking every configured secret wherever text may carry one.

An upstream's error body can echo the key it was sent — whole, upper-cased, or cut short — and
such text travels on to callers, logs, traces, health and the audit log. :func:`redact` masks,
case-insensitively, each registered secret and any run of at least :data:`MIN_PREFIX` of its
leading characters (a secret shorter than that only as a whole), replacing it with
``[redacted]``.

Secrets are registered as the process learns them (:func:`register_secret`): the settings'
keys, tokens and URL passwords, each provider key when it is read, each client API key. The set
only grows, and is shared by the whole process, so the log-record factory installed by
:func:`install_log_redaction` masks what any logger, ours or a library's, writes.

Cost: one ``str.lower`` and one ``find`` per secret on each call; it runs on error paths, log
records and admin reads, never on a successful request's chunks.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

MIN_PREFIX = 8
MIN_SECRET = 4
MASK = "[redacted]"

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()  # lower-cased, longest first
# The same, plus each one's JSON-escaped form where it differs (a quote, backslash or control
# character in a secret): what a secret looks like inside a JSON document.
_json_secrets: tuple[str, ...] = ()
# Short strings recur (model ids, reasons, provider names): their redacted form is remembered,
# bounded, and forgotten whenever a secret is added.
_cache: dict[str, str] = {}
_CACHE_MAX = 8192
_CACHE_LEN = 256


def register_secret(secret: str | None) -> None:
    """Mask ``secret`` from now on (ignored when shorter than :data:`MIN_SECRET`)."""
    global _secrets, _json_secrets
    if not secret:
        return
    value = secret.strip().lower()
    if len(value) < MIN_SECRET or value in _secrets:
        return
    with _lock:
        _secrets = tuple(sorted({*_secrets, value}, key=len, reverse=True))
        escaped = {json.dumps(item, ensure_ascii=False)[1:-1] for item in _secrets}
        _json_secrets = tuple(sorted({*_secrets, *escaped}, key=len, reverse=True))
        _cache.clear()


def register_secrets(secrets: Iterable[str | None]) -> None:
    for secret in secrets:
        register_secret(secret)


def url_password(url: str | None) -> str | None:
    """The password of a URL like ``redis://:pw@host`` (None when it has none)."""
    if not url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def url_secret_parts(url: str) -> list[str]:
    """What in a webhook URL is a credential: its password, query, and path segments long
    enough to be tokens (Slack's ``/services/T…/B…/<token>``), so they can be registered."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found = [parts.password] if parts.password else []
    if parts.query:
        found.append(parts.query)
    for segment in parts.path.split("/"):
        # token-like: long, or with a digit ("services", "hooks" are words, not secrets)
        if len(segment) >= 16 or (len(segment) >= MIN_PREFIX and any(c.isdigit() for c in segment)):
            found.append(segment)
    return [item for item in found if item]


def redact(text: str, *extra: str | None) -> str:
    """``text`` with every registered secret (and ``extra``) masked, in any case, whole or by
    a prefix of at least :data:`MIN_PREFIX` characters."""
    secrets = _secrets
    if extra:
        secrets = (*secrets, *(e.lower() for e in extra if e and len(e) >= MIN_SECRET))
    elif len(text) <= _CACHE_LEN:
        known = _cache.get(text)
        if known is not None:
            return known
        masked = _redact(text, secrets)
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[text] = masked
        return masked
    return _redact(text, secrets)


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    if not secrets or not text:
        return text
    lower = text.lower()
    spans: list[tuple[int, int]] = []
    for secret in secrets:
        spans.extend(_occurrences(lower, secret))
    if not spans:
        return text
    return _mask(text, spans)


def redact_json(document: str) -> str:
    """A serialized JSON document with every registered secret masked wherever it occurs —
    inside any string, in its escaped form too — in one pass over the text (instead of one
    :func:`redact` per string). The mask is valid inside a JSON string."""
    return _redact(document, _json_secrets)


def redact_value(value: Any) -> Any:
    """:func:`redact` applied to every string inside a JSON-like value."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


def _occurrences(lower: str, secret: str) -> list[tuple[int, int]]:
    head = secret[:MIN_PREFIX] if len(secret) > MIN_PREFIX else secret
    spans = []
    start = lower.find(head)
    while start >= 0:
        end = start + len(head)
        while end - start < len(secret) and end < len(lower) and lower[end] == secret[end - start]:
            end += 1
        spans.append((start, end))
        start = lower.find(head, end)
    return spans


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    out, position = [], 0
    for start, end in sorted(spans):
        if end <= position:
            continue
        out.append(text[position : max(start, position)])
        out.append(MASK)
        position = end
    out.append(text[position:])
    return "".join(out)


_installed = False


def install_log_redaction() -> None:
    """Mask secrets in every log record the process creates (message, arguments and the
    formatted exception), whichever logger writes it. Idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _secrets:
            _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)


def _redact_record(record: logging.LogRecord) -> None:
    """Mask ``record`` in place. A record with nothing secret in it keeps its ``msg`` and
    ``args`` as they came: formatters read them (uvicorn's access log unpacks its five args).
    One with a secret gets each string argument masked, its arguments kept as long as they
    still format; otherwise it is flattened to the masked message (``args`` None)."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed format string: leave it to logging to report
        return
    masked = redact(message)
    if masked != message:
        _mask_message(record, masked)
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))


def _mask_message(record: logging.LogRecord, masked: str) -> None:
    args = record.args
    if isinstance(args, tuple) and isinstance(record.msg, str):
        record.msg, record.args = redact(record.msg), tuple(_masked_arg(a) for a in args)
        try:
            if redact(record.getMessage()) == record.getMessage():
                return
        except Exception:  # a masked argument no longer fits its placeholder
            pass
    record.msg, record.args = masked, None


def _masked_arg(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    text = str(value)
    return redact(text) if redact(text) != text else value
