"""Starting and stopping one replica's rate limiter, on the control plane's state store.

A model's cool-down after an upstream 429 is announced to the replicas alive (an event) and
kept in the state store as a hold that ends with it, so a replica that starts during the
cool-down stays off the model too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from llm_gateway.limits.lease import LeasedRates
from llm_gateway.limits.limiter import COOLDOWN_EVENT, RateLimiter
from llm_gateway.limits.metrics import limiter_families
from llm_gateway.limits.store import MemoryRateStore, RateStore, RedisRateStore
from llm_gateway.settings import Settings
from llm_gateway.state.base import StateUnavailable

logger = logging.getLogger("llm_gateway.limits")

SWEEP_S = 0.5
HOLD_FAMILY = "cooldown"
REPLICAS_EVERY = 10  # sweeps between two looks at how many replicas are alive


class RateLimits:
    """The limiter of a serving process and its background sweep; ``await aclose()`` gives
    every lease's unused capacity back."""

    def __init__(self, limiter: RateLimiter, control: Any, gateway: Any) -> None:
        self.limiter = limiter
        self._control = control
        self._gateway = gateway
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="llm-gateway-rate-leases")

    async def adopt_cooldowns(self) -> int:
        """Take up the cool-downs other replicas announced before this one started; returns
        how many models are cooling down."""
        models = list(self._gateway.registry.catalog.policies)
        values = await self._control.store.holds(HOLD_FAMILY, models)
        now = time.time()
        adopted = 0
        for model, value in zip(models, values, strict=True):
            if value is not None and float(value) > now:
                self.limiter.cool_down(model, float(value) - now, share=False)
                adopted += 1
        return adopted

    async def _run(self) -> None:
        try:
            await self.adopt_cooldowns()
        except StateUnavailable:
            pass  # the control plane says so once; nothing to adopt from a store that is down
        except Exception:
            logger.exception("reading the shared cool-downs failed")
        await self._sweep()

    def families(self) -> Any:
        """This limiter's families on ``/metrics`` (see :mod:`llm_gateway.limits.metrics`)."""
        return limiter_families(self.limiter)

    async def aclose(self) -> None:
        """Uninstall from the gateway (it may be served again), stop, give leases back."""
        gateway = self._gateway
        if self.limiter in gateway.admission:
            gateway.admission.remove(self.limiter)
        if gateway.runner.gate is self.limiter:
            gateway.runner.gate = None
        if gateway.limits is self.limiter:
            gateway.limits = None
        if self.families in gateway.metrics.sources:
            gateway.metrics.sources.remove(self.families)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.limiter.rates.release_all()

    async def _sweep(self) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                await self.limiter.rates.sweep()
                if rounds % REPLICAS_EVERY == 0 and self.limiter.rates.store.sliced:
                    live = await self._control.store.replicas()
                    self.limiter.rates.replicas = max(1, len(live))
            except StateUnavailable:
                pass  # the leases say so once; their share holds meanwhile
            except Exception:
                logger.exception("rate-limit lease sweep failed; retried")
            rounds += 1


def start_rate_limits(settings: Settings, gateway: Any, control: Any) -> RateLimits:
    """Install a RateLimiter in ``gateway`` (first admission hook, the chain's gate, settled
    with each answer) on ``control``'s state store; start its sweep."""
    store = control.store
    rates: RateStore = RedisRateStore(store) if store.backend == "redis" else MemoryRateStore()
    limiter = RateLimiter(
        LeasedRates(rates),
        wait_s=settings.GATEWAY_RATE_LIMIT_WAIT_MS / 1000,
        catalog=lambda: gateway.registry.catalog,
        publish=lambda event: _share_cooldown(store, event),
        origin=control.replica_id,
    )
    store.on_event(limiter.on_event)
    gateway.admission.insert(0, limiter)  # before budgets: a refusal here reserves nothing
    gateway.runner.gate = limiter
    gateway.limits = limiter
    runtime = RateLimits(limiter, control, gateway)
    gateway.metrics.add_collector(runtime.families)
    runtime.start()
    return runtime


async def _share_cooldown(store: Any, event: dict[str, Any]) -> None:
    """Announce a cool-down and keep it as a hold (the end as a unix time) until it ends."""
    if event.get("type") == COOLDOWN_EVENT:
        seconds = float(event.get("seconds") or 0.0)
        await store.hold_put(HOLD_FAMILY, str(event["model"]), f"{time.time() + seconds}", seconds)
    await store.publish(event)
