"""Attempting a plan's models in order: fallbacks across models, retries within one.

``ChainRunner.run(plan, call)`` walks ``(selected, *fallbacks)``; for each model it asks the
circuit breaker, makes ProviderRequests and calls ``call(policy, request)`` (a non-streaming
completion, or the opening of a stream up to its first token), and on a ProviderError lets the
pure :class:`~llm_gateway.resilience.retry.RetryPolicy` decide: retry the same model after a
delay, fall back to the next, or surface the error to the caller. When every model failed it
raises :class:`~llm_gateway.errors.AllModelsFailed` naming each failure.

What the breakers and selection signals hear of a request's failures is decided per request
(:mod:`llm_gateway.resilience.attribution`): at most one failure per model, none for a failure
that repeats identically on a second model (the request is at fault: it is surfaced there), told
when the chain ends. A retry is never waited for once the model's circuit is open or its probe
failed: the next model is tried at once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import orjson

from llm_gateway.errors import (
    AllModelsFailed,
    ContentFiltered,
    ContextLengthExceeded,
    ProviderAuthError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RequestSuspected,
)
from llm_gateway.exchange import AttemptRecord, Plan
from llm_gateway.model_policy import ModelPolicy
from llm_gateway.providers.base import Provider, ProviderRequest
from llm_gateway.resilience.attribution import RequestFailures, SharedFailures
from llm_gateway.resilience.circuit import CircuitBreakers
from llm_gateway.resilience.retry import RetryAction, RetryDecision, RetryPolicy
from llm_gateway.selection.signals import InMemorySignals

T = TypeVar("T")
OPENROUTER = "openrouter"  # the provider OPENROUTER_FALLBACK_ENABLED is about
Call = Callable[[ModelPolicy, ProviderRequest], Awaitable[T]]


@dataclass(slots=True)
class ChainRunner:
    """Runs attempts for plans. Shared by every request; holds no per-request state."""

    providers: Any  # ProviderRegistry: .get(name) -> Provider
    circuits: CircuitBreakers
    signals: InMemorySignals
    retry: RetryPolicy
    fallback_enabled: bool = True
    # OPENROUTER_FALLBACK_ENABLED, live (rollout flags): may a fallback be a model on OpenRouter
    openrouter_fallback: Callable[[], bool] = lambda: True
    shared: SharedFailures = field(default_factory=SharedFailures)
    clock: Callable[[], float] = time.monotonic
    rand: Callable[[], float] = random.random
    gate: Any = None  # the RateLimiter: per-model limits, upstream 429 feedback (limits/)

    async def run(
        self, plan: Plan, call: Call[T], *, skip: frozenset[str] = frozenset()
    ) -> tuple[ModelPolicy, T]:
        """First success of ``call`` along the plan's chain; raises AllModelsFailed or the
        surfaced ProviderError."""
        failures: list[ProviderError] = []
        seen = RequestFailures()
        try:
            for policy in self._candidates(plan, failures, skip):
                outcome = await self._attempt_model(plan, policy, call, failures, seen, skip)
                if outcome is not _FAILED:
                    return policy, cast(T, outcome)
        finally:
            self._settle(seen)
        if self.gate is not None and (refusal := self.gate.all_limited(failures)) is not None:
            raise refusal
        raise AllModelsFailed(failures or [_deadline_error(plan)])

    def _settle(self, seen: RequestFailures) -> None:
        for policy, error, latency_ms in seen.counted():
            self.record_failure(policy, error, latency_ms)
        for model in seen.excused():
            self.circuits.release_probe(model)  # a probe of this request proved nothing

    def request_for(self, plan: Plan, policy: ModelPolicy, body: Any = None) -> ProviderRequest:
        """The provider's view of the request: model swapped for the provider's id."""
        payload = dict(body if body is not None else plan.request)
        payload["model"] = policy.provider_model_id
        if plan.stream:
            options = dict(payload.get("stream_options") or {})
            options["include_usage"] = True
            payload["stream_options"] = options
        return ProviderRequest(
            body=payload,
            policy=policy,
            deadlines=plan.deadlines_for(policy),
            deadline_at=plan.deadline_at,
            trace_id=plan.trace_id,
        )

    def provider_for(self, policy: ModelPolicy) -> Provider:
        provider: Provider = self.providers.get(policy.provider)
        return provider

    def record_success(self, policy: ModelPolicy, latency_ms: float) -> None:
        self.circuits.record_success(policy.logical_id)
        self.signals.record(policy.logical_id, latency_ms, ok=True)

    def record_failure(self, policy: ModelPolicy, error: ProviderError, latency_ms: float) -> None:
        if error.counts_against_model:
            self.circuits.record_failure(policy.logical_id, error.describe())
            self.signals.record(policy.logical_id, latency_ms, ok=False)

    def _candidates(
        self, plan: Plan, failures: list[ProviderError], skip: frozenset[str]
    ) -> Iterator[ModelPolicy]:
        too_small = 0  # largest context window that was refused as too small
        refused: set[str] = set()  # providers that refused the key or the account (401, 402)
        for index, policy in enumerate(plan.selection.candidates):
            if index > 0 and not self.fallback_enabled:
                return
            if policy.logical_id in skip:
                continue
            last = _policy_of(plan, failures[-1]) if failures else None
            if last is not None and isinstance(failures[-1], ContextLengthExceeded):
                too_small = max(too_small, last.context_window)
            if last is not None and _refuses_the_account(failures[-1]):
                refused.add(last.provider)
            if policy.context_window <= too_small:
                plan.attempts.append(_skipped(policy, self.clock(), "context window too small"))
                continue
            if index > 0 and policy.provider == OPENROUTER and not self.openrouter_fallback():
                plan.attempts.append(_skipped(policy, self.clock(), "OpenRouter fallback disabled"))
                continue
            if policy.provider in refused:
                # Same key, same account: every model of that provider would refuse it too.
                plan.attempts.append(_skipped(policy, self.clock(), "provider refused the key"))
                continue
            if self._remaining(plan) <= 0:
                failures.append(_deadline_error(plan))
                return
            yield policy

    async def _attempt_model(
        self,
        plan: Plan,
        policy: ModelPolicy,
        call: Call[T],
        failures: list[ProviderError],
        seen: RequestFailures,
        skip: frozenset[str] = frozenset(),
    ) -> T | object:
        model = policy.logical_id
        retries = 0
        while True:
            if not self.circuits.allow(model):
                plan.attempts.append(_skipped(policy, self.clock(), "circuit open"))
                failures.append(_circuit_open(policy))
                return _FAILED
            if retries == 0 and self.gate is not None:
                limited = await self.gate.admit_model(plan, policy)
                if limited is not None:
                    self.circuits.release_probe(model)
                    plan.attempts.append(_skipped(policy, self.clock(), limited.message))
                    failures.append(limited)
                    return _FAILED
            started = self.clock()
            try:
                result = await call(policy, self.request_for(plan, policy))
            except ProviderError as error:
                elapsed_ms = (self.clock() - started) * 1000
                _label(error, policy)
                failures.append(error)
                if self.gate is not None:
                    self.gate.upstream_failure(policy, error)
                repeated = error.counts_against_model and self._repeated(
                    plan, seen, policy, error, elapsed_ms
                )
                decision = self._decide(plan, policy, error, retries, repeated, skip)
                plan.attempts.append(_failed(policy, started, elapsed_ms, error, retries, decision))
                if decision.action is RetryAction.SURFACE:
                    if repeated:
                        raise RequestSuspected(error, failures) from error
                    raise
                if decision.action is RetryAction.FALLBACK:
                    return _FAILED
                retries += 1
                await asyncio.sleep(decision.delay_s)
                continue
            except BaseException:
                # The caller's own cancellation (or a bug) is never the model's fault.
                self.circuits.release_probe(model)
                raise
            elapsed_ms = (self.clock() - started) * 1000
            self.record_success(policy, elapsed_ms)
            if self.gate is not None:
                self.gate.upstream_answer(policy, result)
            plan.attempts.append(
                AttemptRecord(
                    model, policy.provider, started, elapsed_ms, True, retry_index=retries
                )
            )
            return result

    def _repeated(
        self,
        plan: Plan,
        seen: RequestFailures,
        policy: ModelPolicy,
        error: ProviderError,
        latency_ms: float,
    ) -> bool:
        """True when this failure repeats one of another model of the request and other
        requests have not been failing the same way (then it is the request's fault)."""
        signature = seen.add(policy, error, latency_ms)
        if signature is None:
            return False
        if self.shared.confirmed(signature, _digest(plan.request), self.clock()):
            seen.acquit(signature)
            return False
        return True

    def _decide(
        self,
        plan: Plan,
        policy: ModelPolicy,
        error: ProviderError,
        retries: int,
        repeated: bool,
        skip: frozenset[str],
    ) -> RetryDecision:
        if repeated:
            return RetryDecision(RetryAction.SURFACE, 0.0, "identical failure on another model")
        decision = self.retry.decide(
            error,
            retries,
            self._remaining(plan),
            self.rand,
            fallback_available=self._fallback_available(plan, policy, skip),
        )
        if isinstance(error, ContentFiltered) and plan.requirements.fallback_on_content_filter:
            return RetryDecision(RetryAction.FALLBACK, 0.0, "node allows fallback")
        if decision.action is RetryAction.RETRY and not self.circuits.would_allow(
            policy.logical_id
        ):
            # Its circuit is open, or this attempt was its probe: waiting to retry only delays
            # the fallback that will answer.
            return RetryDecision(RetryAction.FALLBACK, 0.0, "circuit open: no retry")
        return decision

    def _fallback_available(self, plan: Plan, policy: ModelPolicy, skip: frozenset[str]) -> bool:
        """Whether a model after ``policy`` in the chain may still be tried: fallback on, not
        skipped by the caller, its circuit letting calls through."""
        if not self.fallback_enabled:
            return False
        no_openrouter = not self.openrouter_fallback()
        ids = [
            candidate.logical_id
            for index, candidate in enumerate(plan.selection.candidates)
            if index == 0 or not (no_openrouter and candidate.provider == OPENROUTER)
        ]
        later = ids[ids.index(policy.logical_id) + 1 :] if policy.logical_id in ids else []
        return any(model not in skip and self.circuits.would_allow(model) for model in later)

    def _remaining(self, plan: Plan) -> float:
        """Seconds left until the request's deadline (RetryPolicy keeps its own margin)."""
        return plan.deadline_at - self.clock()


_FAILED = object()


def _digest(request: Any) -> int:
    """Which request body this is, to tell different requests apart (failure path only)."""
    try:
        return hash(orjson.dumps(request, option=orjson.OPT_SORT_KEYS))
    except TypeError:
        return id(request)


def _label(error: ProviderError, policy: ModelPolicy) -> None:
    if error.model is None:
        error.model = policy.logical_id
    if error.provider is None:
        error.provider = policy.provider


def _policy_of(plan: Plan, error: ProviderError) -> ModelPolicy | None:
    for policy in plan.selection.candidates:
        if policy.logical_id == error.model:
            return policy
    return None


def _refuses_the_account(error: ProviderError) -> bool:
    """401 (key) and 402 (credits) hold for the whole provider; a 403 may be the model's."""
    return isinstance(error, ProviderAuthError) and error.upstream_status != 403


def _circuit_open(policy: ModelPolicy) -> ProviderUnavailable:
    return ProviderUnavailable(
        "circuit open after repeated failures: not called",
        model=policy.logical_id,
        provider=policy.provider,
    )


def _deadline_error(plan: Plan) -> ProviderTimeout:
    return ProviderTimeout("request deadline exceeded before any model answered", model=None)


def _skipped(policy: ModelPolicy, now: float, why: str) -> AttemptRecord:
    return AttemptRecord(
        policy.logical_id,
        policy.provider,
        now,
        0.0,
        False,
        error=why,
        skipped=True,
        decision="fallback",
    )


def _failed(
    policy: ModelPolicy,
    started: float,
    elapsed_ms: float,
    error: ProviderError,
    retries: int,
    decision: Any,
) -> AttemptRecord:
    return AttemptRecord(
        model=policy.logical_id,
        provider=policy.provider,
        started_at=started,
        duration_ms=elapsed_ms,
        ok=False,
        error=error.message,
        error_type=type(error).__name__,
        upstream_status=error.upstream_status,
        retry_index=retries,
        decision=f"{decision.action.value}: {decision.reason}"
        if decision.reason
        else decision.action.value,
    )
