"""Status and body → error class, Retry-After, messages: the one mapping table, row by row."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import orjson
import pytest

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
from llm_gateway.providers.errors_map import (
    error_from_payload,
    error_from_response,
    parse_retry_after,
    stream_error_from_event,
)

NOW = 1_700_000_000.0
SECRET = "sk-or-v1-abcdefSECRET"


def mapped(status: int, body: object, headers: dict[str, str] | None = None) -> ProviderError:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return error_from_response(
        status,
        headers or {},
        raw,
        model="vendor/m",
        provider="openrouter",
        secret=SECRET,
        now=lambda: NOW,
    )


def err(code: object, message: str, **metadata: object) -> dict[str, object]:
    body: dict[str, object] = {"code": code, "message": message}
    if metadata:
        body["metadata"] = metadata
    return {"error": body}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, err(429, "Rate limit exceeded"), ProviderRateLimited),
        (408, err(408, "Request timed out"), ProviderUnavailable),
        (500, err(500, "Internal"), ProviderUnavailable),
        (502, err(502, "Model down"), ProviderUnavailable),
        (503, err(503, "No provider meets your routing requirements"), ProviderUnavailable),
        (504, b"<html>Gateway Timeout</html>", ProviderUnavailable),
        (401, err(401, "No auth credentials found"), ProviderAuthError),
        (403, err(403, "Key disabled"), ProviderAuthError),
        (402, err(402, "Insufficient credits"), ProviderAuthError),
        # About the model the gateway chose, not the caller's request: the next model may serve.
        (404, err(404, "No endpoints found for vendor/m"), ModelNotServable),
        (400, err(400, "vendor/m is not a valid model ID"), ModelNotServable),
        (404, err("model_not_found", "The model does not exist"), ModelNotServable),
        (404, err(404, "No endpoints found that support tool use."), ModelNotServable),
        (422, {"detail": "validation failed"}, ProviderBadRequest),
        (413, err(413, "Request entity too large"), ProviderBadRequest),
        (400, err(400, "messages: required"), ProviderBadRequest),
        (400, err("context_length_exceeded", "too long"), ContextLengthExceeded),
        (
            400,
            err(
                400,
                "This endpoint's maximum context length is 8192 tokens. However, you "
                "requested about 9000 tokens",
            ),
            ContextLengthExceeded,
        ),
        (400, err("content_filter", "The response was filtered"), ContentFiltered),
        (
            403,
            err(
                403,
                "Input flagged",
                reasons=["violence"],
                flagged_input="...",
                provider_name="OpenAI",
                model_slug="openai/gpt-4o",
            ),
            ContentFiltered,
        ),
        (403, err(403, "Request blocked by guardrail: prompt injection"), ContentFiltered),
        (302, b"", ProviderError),
    ],
)
def test_status_and_body_pick_the_class(
    status: int, body: object, expected: type[ProviderError]
) -> None:
    error = mapped(status, body)
    assert type(error) is expected
    assert error.upstream_status == status
    assert "vendor/m" in error.message and str(status) in error.message


def test_string_and_number_codes_both_read() -> None:
    assert isinstance(mapped(400, err("context_length_exceeded", "x")), ContextLengthExceeded)
    numeric = mapped(429, err(429, "slow down"))
    assert numeric.code is None  # a number only repeats the status
    named = mapped(429, err("rate_limit_exceeded", "slow down"))
    assert named.code == "rate_limit_exceeded"


def test_retry_after_in_seconds() -> None:
    assert mapped(429, err(429, "x"), {"Retry-After": "7"}).retry_after == 7.0
    assert mapped(503, err(503, "x"), {"retry-after": "1.5"}).retry_after == 1.5


def test_retry_after_as_http_date() -> None:
    when = format_datetime(datetime.fromtimestamp(NOW + 30, tz=UTC), usegmt=True)
    assert mapped(429, err(429, "x"), {"Retry-After": when}).retry_after == pytest.approx(30)


def test_retry_after_in_the_past_or_unreadable() -> None:
    past = format_datetime(datetime.fromtimestamp(NOW - 30, tz=UTC), usegmt=True)
    assert parse_retry_after(past, lambda: NOW) == 0.0
    assert parse_retry_after("soon", lambda: NOW) is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after("999999999") == 24 * 3600.0


def test_retry_after_from_an_openrouter_body_when_no_header() -> None:
    body = err(429, "Provider returned error", provider_name="Venice", retry_after_seconds=17)
    assert mapped(429, body).retry_after == 17.0


def test_insufficient_credits_reads_retry_after_and_says_so() -> None:
    error = mapped(402, err(402, "Insufficient credits"), {"Retry-After": "60"})
    assert isinstance(error, ProviderAuthError)
    assert error.code == "insufficient_credits"
    assert error.retry_after == 60.0
    assert "insufficient credits" in error.message


def test_moderation_reasons_and_provider_in_the_message() -> None:
    error = mapped(403, err(403, "flagged", reasons=["hate"], provider_name="OpenAI"))
    assert "hate" in error.message and "OpenAI" in error.message
    assert error.code == "content_filter" and not error.fallback


def test_non_json_body_is_quoted_shortened() -> None:
    error = mapped(502, b"<html><body>Bad gateway</body></html>" + b" x" * 1000)
    assert isinstance(error, ProviderUnavailable)
    assert "Bad gateway" in error.message
    assert len(error.message) < 600


def test_empty_body_still_maps_by_status() -> None:
    error = mapped(503, b"")
    assert isinstance(error, ProviderUnavailable) and "(empty body)" in error.message


def test_the_key_is_masked_wherever_upstream_echoes_it() -> None:
    error = mapped(401, err(401, f"Invalid key {SECRET} for Bearer {SECRET}"))
    assert SECRET not in error.message
    assert SECRET not in str(error.to_dict())
    assert "[redacted]" in error.message


def test_the_key_is_masked_before_the_message_is_shortened() -> None:
    error = mapped(401, err(401, "x" * 390 + SECRET))
    assert SECRET[:8] not in error.message


def test_an_error_object_in_a_200_body_takes_its_status_from_the_code() -> None:
    payload = err(429, "Rate limited upstream")
    error = error_from_payload(payload, status=200, model="m", provider="p")
    assert isinstance(error, ProviderRateLimited) and error.upstream_status == 429
    unnamed = error_from_payload(
        {"error": {"message": "boom"}}, status=None, model="m", provider="p"
    )
    assert isinstance(unnamed, ProviderUnavailable) and unnamed.upstream_status == 502
    plain = error_from_payload({"error": "just text"}, status=None, model="m", provider="p")
    assert "just text" in plain.message


def test_openrouter_mid_stream_error_event() -> None:
    # https://openrouter.ai/docs/api/reference/streaming#handling-errors-during-streaming
    event = {
        "id": "cmpl-abc123",
        "object": "chat.completion.chunk",
        "provider": "openai",
        "error": {"code": "server_error", "message": "Provider disconnected unexpectedly"},
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
    }
    error = stream_error_from_event(event, model="m", provider="openrouter")
    assert isinstance(error, ProviderStreamError)
    assert "Provider disconnected unexpectedly" in error.message
    assert error.code == "server_error"


def test_stream_error_event_with_a_numeric_code_and_without_an_error_object() -> None:
    numeric = stream_error_from_event(err(502, "upstream died"), model="m", provider="p")
    assert isinstance(numeric, ProviderStreamError) and numeric.upstream_status == 502
    bare = {"choices": [{"index": 0, "delta": {}, "finish_reason": "error"}]}
    error = stream_error_from_event(bare, model="m", provider="p")
    assert isinstance(error, ProviderStreamError) and "finish_reason" in error.message


def test_stream_content_filter_finish_is_content_filtered() -> None:
    event = {"choices": [{"index": 0, "delta": {}, "finish_reason": "content_filter"}]}
    assert isinstance(stream_error_from_event(event, model="m", provider="p"), ContentFiltered)


@pytest.mark.parametrize(
    ("status", "body", "counts"),
    [
        (404, err(404, "No endpoints found for vendor/m"), True),
        (400, err(400, "vendor/m is not a valid model ID"), True),
        (404, err(404, "No endpoints found that support tool use."), False),
        (404, err(404, "No endpoints found matching your data policy"), False),
    ],
)
def test_a_refused_model_falls_back_and_counts_only_when_it_is_missing(
    status: int, body: object, counts: bool
) -> None:
    error = mapped(status, body)
    assert type(error) is ModelNotServable
    assert error.fallback and not error.retryable
    assert error.counts_against_model is counts


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, err(400, "tool_choice: invalid value")),
        (400, err(400, "Invalid schema for function 'f'", provider_name="OpenAI")),
        (413, err(413, "Request entity too large")),
        (422, {"detail": [{"loc": ["body", "n"], "msg": "too large"}]}),
        (409, b"conflict"),
    ],
)
def test_a_request_shaped_4xx_is_surfaced_with_its_status_and_never_counted(
    status: int, body: object
) -> None:
    error = mapped(status, body)
    assert type(error) is ProviderBadRequest
    assert not error.fallback and not error.retryable and not error.counts_against_model
    assert error.status_code == status
