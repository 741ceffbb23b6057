"""RetryPolicy: backoff schedule and the retry / fall back / surface decision per error class."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_gateway.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderConnectionError,
    ProviderDisconnected,
    ProviderError,
    ProviderRateLimited,
    ProviderStreamError,
    ProviderTimeout,
    ProviderUnavailable,
)
from llm_gateway.resilience import RetryAction, RetryDecision, RetryPolicy

FAR = 1_000.0  # remaining seconds large enough for any delay in these tests
unit_floats = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)


def fixed(value: float):
    return lambda: value


@pytest.mark.parametrize(
    ("error", "action"),
    [
        (ProviderRateLimited("slow down", upstream_status=429), RetryAction.RETRY),
        (ProviderUnavailable("bad gateway", upstream_status=502), RetryAction.RETRY),
        (ProviderUnavailable("request timeout", upstream_status=408), RetryAction.RETRY),
        (ProviderConnectionError("refused"), RetryAction.RETRY),
        (ProviderTimeout("no first token"), RetryAction.FALLBACK),
        (ProviderDisconnected("hung up"), RetryAction.FALLBACK),
        (ProviderStreamError("cut"), RetryAction.FALLBACK),
        (ProviderAuthError("bad key", upstream_status=401), RetryAction.FALLBACK),
        (ContextLengthExceeded("too long", upstream_status=400), RetryAction.FALLBACK),
        (ContentFiltered("filtered", upstream_status=400), RetryAction.SURFACE),
        (ProviderBadRequest("bad field", upstream_status=400), RetryAction.SURFACE),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, ProviderError) else str(v),
)
def test_each_error_class_gets_its_action(error: ProviderError, action: RetryAction) -> None:
    decision = RetryPolicy().decide(error, retries_done=0, remaining_s=FAR, rand=fixed(0.5))
    assert decision.action is action
    assert decision.reason


@pytest.mark.parametrize(
    "error",
    [
        ProviderUnavailable("unavailable", upstream_status=503),
        ProviderRateLimited("slow down", upstream_status=429),
        ProviderRateLimited("slow down", upstream_status=429, retry_after=0.5),
        ProviderConnectionError("body cut"),
    ],
    ids=["503", "429", "429-retry-after", "connection"],
)
def test_one_retry_then_the_fallback_while_a_fallback_can_answer(error: ProviderError) -> None:
    policy = RetryPolicy(max_retries=3)
    first = policy.decide(error, 0, FAR, fixed(0.5), fallback_available=True)
    assert first.action is RetryAction.RETRY and "retry 1 of 1" in first.reason
    second = policy.decide(error, 1, FAR, fixed(0.5), fallback_available=True)
    assert second.action is RetryAction.FALLBACK
    assert "retries exhausted (1 of 1)" in second.reason
    # Without a fallback the whole GATEWAY_MAX_RETRIES budget is used on the one model.
    assert policy.decide(error, 2, FAR, fixed(0.5)).action is RetryAction.RETRY
    assert policy.decide(error, 3, FAR, fixed(0.5)).action is RetryAction.FALLBACK


def test_the_cap_with_a_fallback_never_exceeds_max_retries() -> None:
    policy = RetryPolicy(max_retries=0, max_retries_with_fallback=1)
    error = ProviderUnavailable("unavailable", upstream_status=503)
    assert policy.retry_budget(True) == 0
    assert policy.decide(error, 0, FAR, fixed(0.5), fallback_available=True).action is (
        RetryAction.FALLBACK
    )


def test_context_length_falls_back_even_if_a_subclass_claims_retryable() -> None:
    class RetryableContext(ContextLengthExceeded):
        retryable = True

    decision = RetryPolicy().decide(RetryableContext("too long"), 0, FAR, fixed(0.5))
    assert decision.action is RetryAction.FALLBACK
    assert "context length" in decision.reason


def test_retryable_error_that_forbids_fallback_surfaces_when_retries_run_out() -> None:
    class NoFallback(ProviderUnavailable):
        fallback = False

    policy = RetryPolicy(max_retries=1)
    assert policy.decide(NoFallback("x"), 0, FAR, fixed(0.1)).action is RetryAction.RETRY
    assert policy.decide(NoFallback("x"), 1, FAR, fixed(0.1)).action is RetryAction.SURFACE


def test_retry_after_is_honoured_exactly_without_jitter() -> None:
    error = ProviderRateLimited("slow down", upstream_status=429, retry_after=2.0)
    decision = RetryPolicy().decide(error, 0, remaining_s=10.0, rand=fixed(0.01))
    assert decision == RetryDecision(
        RetryAction.RETRY, 2.0, "429 from upstream, retry 1 of 3 after Retry-After 2.0 s"
    )


def test_retry_after_beyond_the_deadline_falls_back_at_once_and_says_why() -> None:
    error = ProviderRateLimited("slow down", upstream_status=429, retry_after=2.0)
    decision = RetryPolicy().decide(error, 0, remaining_s=1.2, rand=fixed(0.5))
    assert decision.action is RetryAction.FALLBACK
    assert decision.delay_s == 0.0
    assert "429 from upstream, Retry-After 2.0 s exceeds remaining 1.2 s" in decision.reason


def test_retry_after_longer_than_max_delay_is_still_honoured_when_it_fits() -> None:
    error = ProviderRateLimited("slow down", upstream_status=429, retry_after=45.0)
    decision = RetryPolicy(max_delay_s=30.0).decide(error, 0, remaining_s=60.0, rand=fixed(0.5))
    assert (decision.action, decision.delay_s) == (RetryAction.RETRY, 45.0)


def test_the_deadline_margin_is_kept_free_for_the_attempt() -> None:
    error = ProviderRateLimited("x", retry_after=1.0)
    policy = RetryPolicy(deadline_margin_s=0.5)
    assert policy.decide(error, 0, remaining_s=1.5, rand=fixed(0.5)).action is RetryAction.RETRY
    assert policy.decide(error, 0, remaining_s=1.4, rand=fixed(0.5)).action is RetryAction.FALLBACK


def test_backoff_that_does_not_fit_falls_back() -> None:
    policy = RetryPolicy(base_delay_s=4.0, deadline_margin_s=0.0)
    error = ProviderUnavailable("down", upstream_status=503)
    assert policy.decide(error, 0, remaining_s=1.0, rand=fixed(0.5)).action is RetryAction.FALLBACK
    assert policy.decide(error, 0, remaining_s=2.0, rand=fixed(0.5)).delay_s == 2.0


def test_negative_retry_after_means_retry_now() -> None:
    error = ProviderRateLimited("x", retry_after=-3.0)
    decision = RetryPolicy().decide(error, 0, remaining_s=FAR, rand=fixed(0.5))
    assert (decision.action, decision.delay_s) == (RetryAction.RETRY, 0.0)


@pytest.mark.parametrize(
    ("retry_index", "ceiling"), [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (5, 30.0)]
)
def test_backoff_ceiling_doubles_then_caps(retry_index: int, ceiling: float) -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=30.0)
    assert policy.backoff_ceiling_s(retry_index) == ceiling
    assert policy.backoff_s(retry_index, fixed(0.5)) == ceiling / 2


def test_backoff_survives_absurd_retry_indexes() -> None:
    assert RetryPolicy(max_delay_s=30.0).backoff_ceiling_s(10_000) == 30.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"max_retries_with_fallback": -1},
        {"base_delay_s": -0.1},
        {"max_delay_s": -1.0},
        {"deadline_margin_s": -1},
    ],
)
def test_invalid_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_negative_retry_index_is_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy().backoff_s(-1, fixed(0.5))


@given(
    retry_index=st.integers(min_value=0, max_value=200),
    r=unit_floats,
    base=st.floats(min_value=0.0, max_value=10.0),
    cap=st.floats(min_value=0.0, max_value=100.0),
)
def test_backoff_stays_within_zero_and_the_capped_ceiling(
    retry_index: int, r: float, base: float, cap: float
) -> None:
    policy = RetryPolicy(base_delay_s=base, max_delay_s=cap)
    delay = policy.backoff_s(retry_index, fixed(r))
    assert 0.0 <= delay <= min(cap, base * 2.0 ** min(retry_index, 62))
    assert delay <= cap


@given(retry_index=st.integers(min_value=0, max_value=100), r=unit_floats)
def test_backoff_ceiling_never_shrinks_with_more_retries(retry_index: int, r: float) -> None:
    policy = RetryPolicy(base_delay_s=0.3, max_delay_s=20.0)
    assert policy.backoff_ceiling_s(retry_index + 1) >= policy.backoff_ceiling_s(retry_index)
    assert policy.backoff_s(retry_index + 1, fixed(r)) >= policy.backoff_s(retry_index, fixed(r))


@given(
    max_retries=st.integers(min_value=0, max_value=20),
    seed=st.integers(min_value=0, max_value=2**32),
    retry_after=st.one_of(st.none(), st.floats(min_value=0.0, max_value=5.0)),
)
def test_never_more_than_max_retries_retries(
    max_retries: int, seed: int, retry_after: float | None
) -> None:
    """Replaying the gateway's loop against an always-failing model ends after max_retries."""
    policy = RetryPolicy(max_retries=max_retries, base_delay_s=0.5, max_delay_s=5.0)
    rand = random.Random(seed).random
    error = ProviderRateLimited("always", upstream_status=429, retry_after=retry_after)
    retries = 0
    while True:
        decision = policy.decide(error, retries, remaining_s=FAR, rand=rand)
        if decision.action is not RetryAction.RETRY:
            break
        retries += 1
        assert retries <= max_retries
    assert retries == max_retries
    assert decision.action is RetryAction.FALLBACK
    assert f"retries exhausted ({max_retries} of {max_retries})" in decision.reason


@given(
    retry_after=st.floats(min_value=0.0, max_value=60.0),
    remaining=st.floats(min_value=-1.0, max_value=60.0),
    margin=st.floats(min_value=0.0, max_value=1.0),
)
def test_retry_after_is_either_honoured_exactly_or_falls_back(
    retry_after: float, remaining: float, margin: float
) -> None:
    error = ProviderRateLimited("x", upstream_status=429, retry_after=retry_after)
    decision = RetryPolicy(deadline_margin_s=margin).decide(error, 0, remaining, fixed(0.5))
    if retry_after <= remaining - margin:
        assert (decision.action, decision.delay_s) == (RetryAction.RETRY, retry_after)
    else:
        assert (decision.action, decision.delay_s) == (RetryAction.FALLBACK, 0.0)
        assert "exceeds remaining" in decision.reason


@given(
    retries_done=st.integers(min_value=0, max_value=10),
    remaining=st.floats(min_value=0.0, max_value=100.0),
    r=unit_floats,
)
def test_a_retry_always_fits_in_the_remaining_time(
    retries_done: int, remaining: float, r: float
) -> None:
    policy = RetryPolicy(max_retries=10, base_delay_s=1.0, max_delay_s=30.0)
    decision = policy.decide(ProviderUnavailable("x"), retries_done, remaining, fixed(r))
    if decision.action is RetryAction.RETRY:
        assert 0.0 <= decision.delay_s <= remaining - policy.deadline_margin_s
    else:
        assert decision.action is RetryAction.FALLBACK


def test_from_settings_reads_the_guide_variables() -> None:
    from llm_gateway.settings import Settings

    settings = Settings(GATEWAY_MAX_RETRIES=5, GATEWAY_RETRY_DELAY=0.25)
    policy = RetryPolicy.from_settings(settings)
    assert (policy.max_retries, policy.base_delay_s) == (5, 0.25)
