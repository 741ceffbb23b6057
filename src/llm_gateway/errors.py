"""One exception tree for the whole gateway.

Every error knows the HTTP status and the OpenAI-style error ``type`` it maps to, so the HTTP layer
renders any of them as ``{"error": {"type", "message", "param"?, "code"?}}`` without a lookup table.
Foreign exceptions (httpx, aiohttp, redis, ...) are translated into this tree at the boundary that
meets them and never escape it.

    GatewayError                         500 gateway_error
    ├── ConfigError                      500 configuration_error   (carries every ConfigIssue)
    ├── InvalidRequest                   400 invalid_request_error
    │   └── NoEligibleModel              422 invalid_request_error  code=no_eligible_model
    ├── AuthenticationFailed             401 authentication_error
    ├── PermissionDenied                 403 permission_error
    ├── NotFound                         404 not_found_error
    ├── PayloadTooLarge                  413 invalid_request_error
    ├── ValidationFailed                 422 invalid_request_error
    ├── BudgetExceeded                   429 budget_exceeded
    ├── RateLimited                      429 rate_limit_error
    ├── ProviderError                    502 provider_error         (one failed attempt)
    │   ├── ProviderRateLimited          429 from upstream; retryable, may carry retry_after
    │   ├── ProviderUnavailable          5xx / 408 from upstream; retryable
    │   ├── ProviderTimeout              no headers / first token / stall in time; not retried
    │   ├── ProviderConnectionError      connect refused or reset; retryable
    │   ├── ProviderDisconnected         accepted, then hung up without answering; not retried
    │   ├── ProviderStreamError          stream cut, malformed or ended with an error event
    │   ├── ContextLengthExceeded        400; falls back to a larger-context model
    │   ├── ContentFiltered              400; surfaced as is, never retried
    │   ├── ProviderAuthError            401/402/403 from upstream; never retried; 401/402 skip
    │   │                                  the provider's other models
    │   ├── ModelNotServable             4xx naming the model (unknown id, no endpoint for it or
    │   │                                  for a feature the request uses); falls back
    │   ├── ProviderBadRequest           other 4xx (the request's shape): surfaced with the
    │   │                                  upstream status, never retried, not the model's fault
    │   └── RequestSuspected             one request failed identically on two models; surfaced
    └── AllModelsFailed                  400/502/503/504 (from the last failure); names each attempt
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_gateway.redaction import redact_value

MAX_ECHO_CHARS = 200


def echo(value: object, limit: int = MAX_ECHO_CHARS) -> str:
    """Client input as quoted in an error message: a string cut at ``limit`` characters (with how
    long it really was), a small number as written, anything else by its type only, so an error
    never grows with, nor fails on (deep nesting, huge integers), the input it names."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float) or (isinstance(value, int) and value.bit_length() <= 64):
        return repr(value)
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    if len(value) <= limit:
        return value
    return f"{value[:limit]}… ({len(value)} characters)"


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    status_code: int = 500
    error_type: str = "gateway_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        """The OpenAI-compatible error body: ``{"error": {...}}``, every configured secret
        masked (an upstream's message may echo a key)."""
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        if self.code is not None:
            error["code"] = self.code
        error.update(self.extra())
        return {"error": redact_value(error)}

    def extra(self) -> dict[str, Any]:
        """Additional fields for the error body; subclasses add context here."""
        return {}


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a config file, located by file name and key path."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        """``{"file", "path", "message"}``: what an admin answer's ``located`` lists."""
        return {"file": self.file, "path": self.path, "message": self.message}


class ConfigError(GatewayError):
    """The configuration is invalid; ``issues`` lists every problem found, not just the first."""

    status_code = 500
    error_type = "configuration_error"

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = list(issues)
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(f"{len(self.issues)} configuration error(s):\n{lines}")

    def extra(self) -> dict[str, Any]:
        return {"issues": [str(issue) for issue in self.issues]}


class InvalidRequest(GatewayError):
    status_code = 400
    error_type = "invalid_request_error"


class NoEligibleModel(InvalidRequest):
    """No model satisfies the hard constraints; ``rejections`` maps each model to why."""

    status_code = 422
    code = "no_eligible_model"

    def __init__(self, message: str, rejections: dict[str, list[str]]) -> None:
        self.rejections = rejections
        detail = "; ".join(f"{model}: {', '.join(why)}" for model, why in rejections.items())
        super().__init__(f"{message} ({detail})" if detail else message)

    def extra(self) -> dict[str, Any]:
        return {"rejected": self.rejections}


class AuthenticationFailed(GatewayError):
    status_code = 401
    error_type = "authentication_error"


class PermissionDenied(GatewayError):
    status_code = 403
    error_type = "permission_error"


class NotFound(GatewayError):
    status_code = 404
    error_type = "not_found_error"


class PayloadTooLarge(GatewayError):
    status_code = 413
    error_type = "invalid_request_error"
    code = "payload_too_large"


class ValidationFailed(GatewayError):
    status_code = 422
    error_type = "invalid_request_error"


class BudgetExceeded(GatewayError):
    status_code = 429
    error_type = "budget_exceeded"
    code = "budget_exceeded"


class RateLimited(GatewayError):
    status_code = 429
    error_type = "rate_limit_error"
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderError(GatewayError):
    """One attempt against one model failed.

    ``retryable`` says whether the same model may be tried again; ``fallback`` whether the next
    model of the chain may be tried; ``counts_against_model`` whether the failure is the provider's
    (feeds the circuit breaker). ``upstream_status`` is the provider's HTTP status, if any.
    """

    status_code = 502
    error_type = "provider_error"
    retryable = False
    fallback = True
    counts_against_model = True

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        provider: str | None = None,
        upstream_status: int | None = None,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.model = model
        self.provider = provider
        self.upstream_status = upstream_status
        self.retry_after = retry_after

    def extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.model is not None:
            extra["model"] = self.model
        if self.provider is not None:
            extra["provider"] = self.provider
        if self.upstream_status is not None:
            extra["upstream_status"] = self.upstream_status
        return extra

    def describe(self) -> str:
        """One line naming model, kind and message, for aggregated errors and traces."""
        status = f" {self.upstream_status}" if self.upstream_status is not None else ""
        return f"{self.model or '?'}: {type(self).__name__}{status}: {self.message}"


class ProviderRateLimited(ProviderError):
    status_code = 429
    error_type = "rate_limit_error"
    retryable = True


class ProviderUnavailable(ProviderError):
    status_code = 503
    retryable = True


class ProviderTimeout(ProviderError):
    """Nothing (or nothing more) arrived in time. Not retried on the same model: a provider that
    sends nothing is moved past at once."""

    status_code = 504
    error_type = "timeout_error"


class ProviderConnectionError(ProviderError):
    status_code = 502
    retryable = True


class ProviderDisconnected(ProviderError):
    """The provider accepted the connection and hung up without answering: not retried, the
    request moves to the next model at once."""

    status_code = 502


class ProviderStreamError(ProviderError):
    status_code = 502


class ContextLengthExceeded(ProviderError):
    status_code = 400
    error_type = "invalid_request_error"
    code = "context_length_exceeded"
    counts_against_model = False


class ContentFiltered(ProviderError):
    status_code = 400
    error_type = "invalid_request_error"
    code = "content_filter"
    fallback = False
    counts_against_model = False


class ProviderAuthError(ProviderError):
    """The provider refused the gateway's key or account: no other model of that provider is
    tried, and the models' health is not at stake."""

    status_code = 502
    error_type = "provider_auth_error"
    fallback = True
    counts_against_model = False


class ModelNotServable(ProviderError):
    """The upstream refused the *model*, not the request: an id it does not know (a catalogue
    error: counts against the model, so its circuit opens) or no endpoint of the model supports
    a feature the request uses (``counts_against_model`` False). Another model may serve it."""

    status_code = 502
    error_type = "provider_error"
    code = "model_not_servable"


class ProviderBadRequest(ProviderError):
    """The request is one the upstream cannot process (malformed, too large, unprocessable):
    every model would refuse it, so it is surfaced at once with the upstream's 4xx status."""

    status_code = 400
    error_type = "invalid_request_error"
    fallback = False
    counts_against_model = False


class RequestSuspected(ProviderError):
    """The same failure on two models of one request's chain, and other requests are not
    failing that way: the request, not the models, is the likely cause. Surfaced with the
    upstream's status; not counted against any model."""

    counts_against_model = False
    fallback = False
    code = "request_suspected"

    def __init__(self, cause: ProviderError, failures: list[ProviderError]) -> None:
        models = sorted({f.model for f in failures if f.model})
        super().__init__(
            f"{cause.message} (the same failure on {len(models)} models: {', '.join(models)}; "
            "the request, not the models, is the likely cause)",
            model=cause.model,
            provider=cause.provider,
            upstream_status=cause.upstream_status,
        )
        self.status_code = cause.status_code if cause.status_code < 500 else 502
        self.error_type = cause.error_type


class AllModelsFailed(GatewayError):
    """Every model of the chain failed; the message names each attempt's failure."""

    error_type = "provider_error"
    code = "all_models_failed"

    def __init__(self, failures: list[ProviderError]) -> None:
        self.failures = list(failures)
        last = self.failures[-1] if self.failures else None
        self.status_code = _aggregate_status(last)
        detail = "; ".join(failure.describe() for failure in self.failures)
        super().__init__(f"all {len(self.failures)} attempt(s) failed: {detail}")
        if isinstance(last, ContextLengthExceeded):
            # The largest model tried refused the prompt: the caller must shorten it, and a
            # client's automatic retry of a 5xx would only repeat the refusal.
            self.error_type = last.error_type
            self.code = last.code

    def extra(self) -> dict[str, Any]:
        return {"attempts": [failure.describe() for failure in self.failures]}


def _aggregate_status(last: ProviderError | None) -> int:
    if last is None:
        return 503
    if isinstance(last, ContextLengthExceeded):
        return 400
    if isinstance(last, ProviderTimeout):
        return 504
    if isinstance(last, ProviderRateLimited | ProviderUnavailable):
        return 503
    return 502
