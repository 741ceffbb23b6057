"""The limiter's decisions on the memory store: a request over a limit waits while its budget
lasts and is then admitted or refused naming the limit; token reservations settle to the usage
(a failed attempt gives all back); a cool-down holds a model off and is shared by event."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

from llm_gateway.limits.errors import ModelRateLimited, RateLimitExceeded
from llm_gateway.limits.lease import LeasedRates
from llm_gateway.limits.limiter import RateLimiter
from llm_gateway.limits.spec import LimitsConfig, RateLimit
from llm_gateway.limits.store import MemoryRateStore
from llm_gateway.model_policy import CostTier, ModelPolicy
from llm_gateway.providers.base import Usage


def limiter(wait_s: float = 0.0, **nodes: RateLimit) -> RateLimiter:
    catalog = SimpleNamespace(limits=LimitsConfig(nodes=nodes, keys={"*": RateLimit(rpm=1000)}))
    return RateLimiter(LeasedRates(MemoryRateStore()), wait_s=wait_s, catalog=lambda: catalog)


def plan(node: str = "writer", output_tokens: int = 100, key: str | None = None) -> Any:
    return SimpleNamespace(
        route=SimpleNamespace(node_label=node, api_key_id=key),
        input_tokens=20,
        output_tokens=output_tokens,
        request={"max_tokens": output_tokens},
        started_at=time.monotonic(),
        rate_reservations=None,
    )


def policy(name: str = "m", **limits: int) -> ModelPolicy:
    return ModelPolicy(
        logical_id=name,
        provider="p",
        provider_model_id=f"vendor/{name}",
        capabilities=frozenset(),
        cost_tier=CostTier.LOW,
        context_window=8000,
        input_cost_per_1k=0,
        output_cost_per_1k=0,
        **limits,
    )


async def test_a_request_over_the_limit_waits_for_capacity_within_its_budget() -> None:
    patient = limiter(wait_s=1.5, writer=RateLimit(rpm=120))  # one more every 0.5 s
    for _ in range(120):
        await patient.admit(plan())
    started = time.monotonic()
    await patient.admit(plan())  # waited for the refill
    assert 0.3 < time.monotonic() - started < 1.5
    impatient = limiter(wait_s=0.0, writer=RateLimit(rpm=1))
    await impatient.admit(plan())
    try:
        await impatient.admit(plan())
    except RateLimitExceeded as refused:
        assert refused.extra()["limit"]["scope"] == "node"
        assert 55 < (refused.retry_after or 0) <= 60
    else:
        raise AssertionError("the second request of an rpm of 1 was admitted")


async def test_a_refusal_keeps_nothing_of_what_the_request_had_reserved() -> None:
    gate = limiter(writer=RateLimit(rpm=10, tpm=300))
    first = plan(output_tokens=200)
    await gate.admit(first)  # 220 of 300 tokens, 1 of 10 requests
    for _ in range(3):
        try:
            await gate.admit(plan(output_tokens=200))
        except RateLimitExceeded as refused:
            assert refused.name == "tpm"
        else:
            raise AssertionError("220 more tokens were admitted with 80 left")
    gate.settle_usage(first, policy(), Usage(total_tokens=10))
    # the refused requests' rpm went back: 9 more fit (10 requests a minute)
    for _ in range(9):
        await gate.admit(plan(output_tokens=1))
    try:
        await gate.admit(plan(output_tokens=1))
    except RateLimitExceeded as refused:
        assert refused.name == "rpm" and refused.limit == 10
    else:
        raise AssertionError("an 11th request was admitted")


async def test_tokens_settle_to_the_usage_and_failed_attempts_give_all_back() -> None:
    gate = limiter(writer=RateLimit(tpm=2000))
    model, fallback = policy("m", tpm=1000), policy("f", tpm=1000)
    first = plan(output_tokens=800)  # 820 tokens reserved on the node, m and f
    await gate.admit(first)
    assert await gate.admit_model(first, model) is None
    assert await gate.admit_model(first, fallback) is None
    used = Usage(prompt_tokens=20, completion_tokens=30, total_tokens=50)
    gate.settle_usage(first, fallback, used)  # m failed: not billed; f answered with 50
    second = plan(output_tokens=940)  # 960 tokens
    await gate.admit(second)
    assert await gate.admit_model(second, model) is None  # m: 0 + 960 of 1000
    assert await gate.admit_model(second, fallback) is not None  # f: 50 + 960 > 1000


async def test_every_model_over_its_limit_answers_with_the_soonest_refusal() -> None:
    gate = limiter()
    slow, quick = policy("slow", rpm=1), policy("quick", rpm=2)
    for model in (slow, quick, quick):
        assert await gate.admit_model(plan(), model) is None
    refusals = [await gate.admit_model(plan(), model) for model in (slow, quick)]
    assert all(isinstance(r, ModelRateLimited) for r in refusals)
    soonest = RateLimiter.all_limited([r for r in refusals if r is not None])
    assert soonest is not None and soonest.key == "p/vendor/quick" and soonest.limit == 2
    assert 25 < (soonest.retry_after or 0) <= 30


async def test_an_upstream_cool_down_holds_the_model_off_and_is_announced() -> None:
    announced: list[dict[str, Any]] = []

    async def publish(event: dict[str, Any]) -> None:
        announced.append(event)

    catalog = SimpleNamespace(limits=LimitsConfig())
    gate = RateLimiter(
        LeasedRates(MemoryRateStore()),
        wait_s=0.0,
        catalog=lambda: catalog,
        publish=publish,
        origin="a",
    )
    sibling = RateLimiter(LeasedRates(MemoryRateStore()), wait_s=0.0, catalog=lambda: catalog)
    gate.cool_down("m", 30)
    refused = await gate.admit_model(plan(), policy("m"))
    assert refused is not None and refused.refusal.name == "cooldown"
    for _ in range(50):
        if announced:
            break
        await asyncio.sleep(0.01)
    await sibling.on_event(announced[0])
    assert await sibling.admit_model(plan(), policy("m")) is not None
    assert await sibling.admit_model(plan(), policy("other")) is None


async def test_a_request_a_later_admission_hook_refused_gets_everything_back() -> None:
    gate = limiter(writer=RateLimit(rpm=1, tpm=500))
    refused_later = plan(output_tokens=400)
    await gate.admit(refused_later)
    await gate.settle(refused_later, None, False)  # e.g. its budget refused it
    answered = plan(output_tokens=400)
    await gate.admit(answered)  # the rpm of 1 and the 420 tokens were given back
    await gate.settle(answered, None, True)
