"""The answers of a request over a rate limit: ``RateLimitExceeded`` (429 with ``Retry-After``,
naming the limit) and, inside the chain, ``ModelRateLimited`` (that model is skipped for the
next one; when every model was, the request gets the RateLimitExceeded of the soonest)."""

from __future__ import annotations

from typing import Any

from llm_gateway.errors import ProviderError, RateLimited


class RateLimitExceeded(RateLimited):
    """Over ``name`` (rpm|tpm|cooldown) of ``scope`` (node|key|model) ``key``."""

    code = "rate_limit_exceeded"

    def __init__(
        self, *, scope: str, key: str, name: str, limit: int | None, retry_after: float
    ) -> None:
        self.scope, self.key, self.name, self.limit = scope, key, name, limit
        if name == "cooldown":
            what = f"{scope} '{key}' is cooling down after its provider's rate limit"
        else:
            unit = "requests" if name == "rpm" else "tokens"
            what = f"{scope} '{key}' is at its {name} limit ({limit} {unit} per minute)"
        super().__init__(
            f"rate limit reached: {what}; retry after {retry_after:.1f} s",
            retry_after=max(retry_after, 0.001),
        )

    def extra(self) -> dict[str, Any]:
        return {
            "limit": {
                "scope": self.scope,
                "key": self.key,
                "name": self.name,
                "limit": self.limit,
                "period_s": 60,
            },
            "retry_after_s": round(self.retry_after or 0.0, 3),
        }


class ModelRateLimited(ProviderError):
    """This model is over its limit (or cooling down): skipped, never called, not its fault."""

    status_code = 429
    error_type = "rate_limit_error"
    retryable = False
    counts_against_model = False

    def __init__(self, refusal: RateLimitExceeded, *, model: str, provider: str) -> None:
        super().__init__(
            refusal.message,
            model=model,
            provider=provider,
            retry_after=refusal.retry_after,
            code=refusal.code,
        )
        self.refusal = refusal
