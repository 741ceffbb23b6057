"""``RateLimiter``: the gateway's rate limits, per node and client key (``limits.yaml``) at
admission and per provider model (``rpm``/``tpm`` of the policy) before each model of the
chain is called.

A request counts one against ``rpm`` and reserves its estimated tokens against ``tpm`` (input
estimate + ``max_tokens``, else the default output cap); once answered, the reservation is
settled to the tokens used (a failed attempt's tokens all go back). Over a limit, the request
waits for capacity while its wait budget lasts (``GATEWAY_RATE_LIMIT_WAIT_MS`` from its start,
shared by every check), then: at admission, 429 ``rate_limit_exceeded`` with ``Retry-After``
naming the limit; in the chain, that model is skipped for the next (when every model was, the
429 of the soonest). An upstream 429, or rate-limit headers saying nothing is left, cool the
model down on every replica (an event through the state store) for the time they give.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from llm_gateway.errors import ProviderError
from llm_gateway.limits.errors import ModelRateLimited, RateLimitExceeded
from llm_gateway.limits.lease import LeasedRates
from llm_gateway.limits.spec import RateLimit
from llm_gateway.model_policy import ModelPolicy
from llm_gateway.state.base import StateUnavailable
from llm_gateway.tokens import estimate_output_tokens

logger = logging.getLogger("llm_gateway.limits")

COOLDOWN_EVENT = "rate_cooldown"
DEFAULT_COOLDOWN_S = 1.0  # an upstream 429 that says nothing of when to come back
MAX_COOLDOWN_S = 300.0


@dataclass(frozen=True, slots=True)
class _Check:
    scope: str  # node | key | model
    name: str  # its name in that scope
    kind: str  # rpm | tpm
    limit: int
    units: int
    key: str  # the bucket's (see _bucket_key)


@functools.lru_cache(maxsize=4096)
def _bucket_key(scope: str, kind: str, limit: int, name: str) -> str:
    # The limit is part of the key: a changed limit (a reload) starts a fresh bucket.
    return f"{scope}:{kind}{limit}:{name}"


@dataclass(slots=True)
class Reservation:
    check: _Check
    model: str | None  # the model it was taken for (model scope), else None


class RateLimiter:
    """Admission hook (node and key limits), model gate of the chain, and upstream feedback."""

    def __init__(
        self,
        rates: LeasedRates,
        *,
        wait_s: float,
        catalog: Callable[[], Any],
        publish: Callable[[dict[str, Any]], Any] | None = None,
        origin: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates = rates
        self._wait_s = wait_s
        self._catalog = catalog
        self._publish = publish
        self._origin = origin
        self._clock = clock
        self._cooldowns: dict[str, float] = {}  # model logical id → monotonic end
        self.refusals: dict[tuple[str, str], int] = {}  # (scope, rpm|tpm|cooldown) → count
        self.waits = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- admission (node, client key) -----------------------------------------------------

    async def admit(self, plan: Any) -> None:
        """Reserve the node's and the caller's limits; raises RateLimitExceeded."""
        limits = self._catalog().limits
        node = limits.for_node(plan.route.node_label)
        key = limits.for_key(plan.route.api_key_id)
        if node is None and key is None:
            return
        units = plan.input_tokens + plan.output_tokens
        checks = _checks("node", plan.route.node_label, node, units)
        checks += _checks("key", plan.route.api_key_id or "", key, units)
        refusal = await self._reserve(plan, checks, None)
        if refusal is not None:
            raise refusal

    async def settle(self, plan: Any, cost: Any, ok: bool) -> None:
        """Admission-hook protocol. An answered request was settled by :meth:`settle_usage`
        (it has the tokens); one a later admission hook refused gets everything back."""
        reservations: list[Reservation] | None = plan.rate_reservations
        if not reservations or ok:
            return
        plan.rate_reservations = None
        for reservation in reservations:
            check = reservation.check
            self.rates.adjust(check.key, check.units, check.limit)

    def settle_usage(self, plan: Any, policy: ModelPolicy | None, usage: Any) -> None:
        """Every token reservation of ``plan`` to the tokens used: those of the model that
        answered (and of the node and key) to its usage, a failed attempt's all back."""
        reservations: list[Reservation] | None = plan.rate_reservations
        if not reservations:
            return
        plan.rate_reservations = None
        used = _tokens(usage)
        answered = policy.logical_id if policy is not None else None
        for reservation in reservations:
            check = reservation.check
            if check.kind != "tpm":
                continue
            if reservation.model is not None and reservation.model != answered:
                actual = 0  # this model did not answer: its attempt is not billed
            elif used is None:
                actual = 0 if answered is None else check.units
            else:
                actual = used
            self.rates.adjust(check.key, check.units - actual, check.limit)

    # -- the chain's model gate -----------------------------------------------------------

    async def admit_model(self, plan: Any, policy: ModelPolicy) -> ModelRateLimited | None:
        """Reserve ``policy``'s provider-model limits; the refusal when it is over them (or
        cooling down) after the request's wait budget."""
        refusal = await self._cooled(plan, policy)
        if refusal is None and (policy.rpm is not None or policy.tpm is not None):
            units = plan.input_tokens + estimate_output_tokens(
                plan.request, policy.max_output_tokens
            )
            limit = RateLimit(policy.rpm, policy.tpm)
            checks = _checks("model", f"{policy.provider}/{policy.provider_model_id}", limit, units)
            refusal = await self._reserve(plan, checks, policy.logical_id)
        if refusal is None:
            return None
        return ModelRateLimited(refusal, model=policy.logical_id, provider=policy.provider)

    @staticmethod
    def all_limited(failures: Sequence[ProviderError]) -> RateLimitExceeded | None:
        """When every model of the chain was skipped for its limits: the soonest's refusal."""
        if not failures or not all(isinstance(f, ModelRateLimited) for f in failures):
            return None
        soonest = min(failures, key=lambda f: f.retry_after or 0.0)
        assert isinstance(soonest, ModelRateLimited)
        return soonest.refusal

    # -- upstream feedback ----------------------------------------------------------------

    def upstream_failure(self, policy: ModelPolicy, error: ProviderError) -> None:
        """An upstream 429: cool the model down (here and, through the store, everywhere)."""
        if error.upstream_status == 429:
            self.cool_down(policy.logical_id, error.retry_after or DEFAULT_COOLDOWN_S)

    def upstream_answer(self, policy: ModelPolicy, result: Any) -> None:
        """Rate-limit headers of an answer saying nothing is left: cool down until reset."""
        wait = getattr(result, "rate_limit_wait_s", None)
        if wait:
            self.cool_down(policy.logical_id, wait)

    def cool_down(self, model: str, seconds: float, *, share: bool = True) -> None:
        seconds = min(max(seconds, 0.0), MAX_COOLDOWN_S)
        until = self._clock() + seconds
        if until <= self._cooldowns.get(model, 0.0):
            return
        self._cooldowns[model] = until
        if share and self._publish is not None:
            event = {
                "type": COOLDOWN_EVENT,
                "model": model,
                "seconds": seconds,
                "origin": self._origin,
            }
            self._spawn(self._publish(event))

    async def on_event(self, event: dict[str, Any]) -> None:
        """Another replica's cool-down (the state store's events)."""
        if event.get("type") == COOLDOWN_EVENT and event.get("origin") != self._origin:
            self.cool_down(str(event["model"]), float(event.get("seconds") or 0), share=False)

    def health(self) -> dict[str, Any]:
        """For the health report: where the buckets are, and the models cooling down."""
        now = self._clock()
        return {
            "backend": self.rates.store.backend,
            "status": "local" if self.rates.unavailable else "ok",
            "cooling_down": {
                model: round(until - now, 1)
                for model, until in sorted(self._cooldowns.items())
                if until > now
            },
        }

    # -- internals ------------------------------------------------------------------------

    async def _cooled(self, plan: Any, policy: ModelPolicy) -> RateLimitExceeded | None:
        until = self._cooldowns.get(policy.logical_id)
        if until is None:
            return None
        now = self._clock()
        if until <= now:
            del self._cooldowns[policy.logical_id]
            return None
        if until <= self._wait_deadline(plan):
            self.waits += 1
            await asyncio.sleep(until - now)
            return None
        self.refusals[("model", "cooldown")] = self.refusals.get(("model", "cooldown"), 0) + 1
        return RateLimitExceeded(
            scope="model",
            key=policy.logical_id,
            name="cooldown",
            limit=None,
            retry_after=until - now,
        )

    async def _reserve(
        self, plan: Any, checks: list[_Check], model: str | None
    ) -> RateLimitExceeded | None:
        taken: list[_Check] = []
        for check in checks:
            while True:
                grant = await self.rates.take(check.key, check.units, check.limit)
                if grant.granted:
                    taken.append(check)
                    break
                if self._clock() + grant.retry_after_s > self._wait_deadline(plan):
                    for done in taken:  # refused: nothing of it counts
                        self.rates.adjust(done.key, done.units, done.limit)
                    counted = (check.scope, check.kind)
                    self.refusals[counted] = self.refusals.get(counted, 0) + 1
                    return RateLimitExceeded(
                        scope=check.scope,
                        key=check.name,
                        name=check.kind,
                        limit=check.limit,
                        retry_after=grant.retry_after_s,
                    )
                self.waits += 1
                await asyncio.sleep(grant.retry_after_s)
        if plan.rate_reservations is None:
            plan.rate_reservations = []
        plan.rate_reservations.extend(Reservation(check, model) for check in taken)
        return None

    def _wait_deadline(self, plan: Any) -> float:
        return float(plan.started_at) + self._wait_s

    def _spawn(self, work: Any) -> None:
        try:
            task = asyncio.get_running_loop().create_task(_quietly(work))
        except RuntimeError:
            work.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _quietly(work: Any) -> None:
    """A cool-down not shared (the store is down) still holds here; said once by the store."""
    with contextlib.suppress(StateUnavailable):
        await work


def _checks(scope: str, name: str, limit: RateLimit | None, units: int) -> list[_Check]:
    if limit is None:
        return []
    checks = []
    if limit.rpm is not None:
        key = _bucket_key(scope, "rpm", limit.rpm, name)
        checks.append(_Check(scope, name, "rpm", limit.rpm, 1, key))
    if limit.tpm is not None:
        key = _bucket_key(scope, "tpm", limit.tpm, name)
        checks.append(_Check(scope, name, "tpm", limit.tpm, max(1, units), key))
    return checks


def _tokens(usage: Any) -> int | None:
    if usage is None:
        return None
    total = int(getattr(usage, "total_tokens", 0) or 0)
    return total or int(usage.prompt_tokens) + int(usage.completion_tokens)
