"""What to do after one failed attempt: retry the same model, fall back to the next, or surface.

Pure: :meth:`RetryPolicy.decide` takes the error, how many retries this model already had, the
request's remaining time and a random source, and returns a :class:`RetryDecision`. The gateway
sleeps, moves on or raises; nothing here sleeps or reads a clock.

    error is ContextLengthExceeded         → FALLBACK  (a larger-context model may fit)
    error not retryable, fallback allowed  → FALLBACK  (timeout, auth, stream error, ...)
    error not retryable, no fallback       → SURFACE   (content filter, plain 400)
    retryable, retry budget exhausted      → FALLBACK
    retryable, retried once, fallback left → FALLBACK  (a second failure says "not now": the
                                                        next model answers sooner than a third try)
    retryable, delay does not fit deadline → FALLBACK  (at once: waiting would only lose time)
    retryable otherwise                    → RETRY after Retry-After, or full-jitter backoff
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from llm_gateway.errors import ContextLengthExceeded, ProviderError

if TYPE_CHECKING:
    from llm_gateway.settings import Settings

# Exponent cap for the backoff ceiling: 2**62 times any sane base is far above any max_delay_s,
# and it keeps the float arithmetic from overflowing for absurd retry indexes.
_MAX_EXPONENT = 62


class RetryAction(StrEnum):
    RETRY = "retry"
    FALLBACK = "fallback"
    SURFACE = "surface"


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """The next step after a failed attempt; ``delay_s`` is only meaningful for RETRY."""

    action: RetryAction
    delay_s: float = 0.0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry budget and backoff schedule for one model of a request's chain.

    ``deadline_margin_s`` is kept free after a retry's delay so the attempt itself has time to
    run before the request's deadline; a delay that does not leave it falls back at once.
    """

    max_retries: int = 3  # GATEWAY_MAX_RETRIES: retries after the first attempt, per model
    # Retries on one model while another model of the chain could answer: a transient failure is
    # over after one retry; a persistent one (a 503 or 429 that keeps coming) would only make the
    # caller wait and hammer the struggling provider before the fallback that will answer.
    max_retries_with_fallback: int = 1
    base_delay_s: float = 1.0  # GATEWAY_RETRY_DELAY
    max_delay_s: float = 30.0
    deadline_margin_s: float = 0.25

    def __post_init__(self) -> None:
        names = ("max_retries", "max_retries_with_fallback", "base_delay_s", "max_delay_s")
        for name in (*names, "deadline_margin_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy configured by ``GATEWAY_MAX_RETRIES`` and ``GATEWAY_RETRY_DELAY``."""
        return cls(
            max_retries=settings.GATEWAY_MAX_RETRIES, base_delay_s=settings.GATEWAY_RETRY_DELAY
        )

    def retry_budget(self, fallback_available: bool) -> int:
        """Retries allowed on one model: ``max_retries``, at most ``max_retries_with_fallback``
        while another model of the chain may answer."""
        if fallback_available:
            return min(self.max_retries, self.max_retries_with_fallback)
        return self.max_retries

    def backoff_ceiling_s(self, retry_index: int) -> float:
        """The largest delay retry ``retry_index`` (0 = first retry) may wait."""
        if retry_index < 0:
            raise ValueError(f"retry_index must be >= 0, got {retry_index}")
        return min(self.max_delay_s, self.base_delay_s * 2.0 ** min(retry_index, _MAX_EXPONENT))

    def backoff_s(self, retry_index: int, rand: Callable[[], float]) -> float:
        """Full jitter: ``rand() * min(max_delay_s, base_delay_s * 2**retry_index)``.

        ``rand`` returns a float in [0, 1) (``random.random``); retry_index 0 is the first retry.
        Full jitter spreads the retries of many clients hit by the same outage instead of
        synchronising them.
        """
        return rand() * self.backoff_ceiling_s(retry_index)

    def decide(
        self,
        error: ProviderError,
        retries_done: int,
        remaining_s: float,
        rand: Callable[[], float],
        *,
        fallback_available: bool = False,
    ) -> RetryDecision:
        """The next step after ``error``, when this model already had ``retries_done`` retries
        and the request has ``remaining_s`` seconds left before its deadline.

        A Retry-After sent by the provider is honoured exactly (never shortened, never jittered);
        when it, or the backoff, does not fit in the remaining time the decision is FALLBACK at
        once. Never returns RETRY once ``retries_done >= max_retries``, nor, when
        ``fallback_available`` (another model of the chain may still answer), once
        ``retries_done >= max_retries_with_fallback``.
        """
        what = _describe(error)
        if isinstance(error, ContextLengthExceeded):
            return RetryDecision(
                RetryAction.FALLBACK,
                reason=f"{what}: context length exceeded, trying a larger-context model",
            )
        if not error.retryable:
            return _not_retryable(error, what)
        budget = self.retry_budget(fallback_available)
        if retries_done >= budget:
            return _after_retries(error, f"{what}, retries exhausted ({retries_done} of {budget})")
        return self._schedule(error, what, retries_done, budget, remaining_s, rand)

    def _schedule(
        self,
        error: ProviderError,
        what: str,
        retries_done: int,
        budget: int,
        remaining_s: float,
        rand: Callable[[], float],
    ) -> RetryDecision:
        if error.retry_after is not None:
            delay = max(0.0, error.retry_after)
            wait = f"Retry-After {_seconds(delay)}"
        else:
            delay = self.backoff_s(retries_done, rand)
            wait = f"backoff {_seconds(delay)}"
        if delay > remaining_s - self.deadline_margin_s:
            return _after_retries(
                error, f"{what}, {wait} exceeds remaining {_seconds(remaining_s)}"
            )
        attempt = retries_done + 1
        return RetryDecision(
            RetryAction.RETRY,
            delay_s=delay,
            reason=f"{what}, retry {attempt} of {budget} after {wait}",
        )


def _not_retryable(error: ProviderError, what: str) -> RetryDecision:
    kind = type(error).__name__
    if what != kind:
        what = f"{what} ({kind})"
    if error.fallback:
        return RetryDecision(RetryAction.FALLBACK, reason=f"{what}: not retryable, falling back")
    return RetryDecision(
        RetryAction.SURFACE, reason=f"{what}: not retryable, surfaced to the caller"
    )


def _after_retries(error: ProviderError, why: str) -> RetryDecision:
    """No more retries on this model: the next model, unless the error forbids falling back."""
    if error.fallback:
        return RetryDecision(RetryAction.FALLBACK, reason=f"{why}; falling back")
    return RetryDecision(RetryAction.SURFACE, reason=f"{why}; surfaced to the caller")


def _describe(error: ProviderError) -> str:
    if error.upstream_status is not None:
        return f"{error.upstream_status} from upstream"
    return type(error).__name__


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if abs(value) >= 1 or value == 0 else f"{value:.2f} s"
