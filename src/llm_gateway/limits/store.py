"""Where rate-limit state lives: ``RateStore`` with a ``memory`` backend (one process) and a
``redis`` one (every replica), deciding alike (:mod:`.gcra`: in Python here, in Lua on Redis,
one script per read-modify-write, the clock being Redis's own ``TIME`` so replicas with skewed
clocks agree). One key per limit, ``{prefix}:rl:<limit key>``, expiring when its bucket is full
again: Redis holds nothing that a full bucket would not say.

Both raise :class:`~llm_gateway.state.base.StateUnavailable` when they cannot answer.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from llm_gateway.limits.gcra import Grant, give_back, take
from llm_gateway.state.base import StateUnavailable

PERIOD_S = 60.0

# KEYS: tat key; ARGV: want, need, limit, period ms, sliced (0|1) → {granted, retry ms}
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local want, need = tonumber(ARGV[1]), tonumber(ARGV[2])
local limit, period = tonumber(ARGV[3]), tonumber(ARGV[4])
if need < 1 then need = 1 end
if need > limit then need = limit end
local interval = period / limit
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local available = math.floor((now + period - tat) / interval + 1e-9)
if available < need then
  local wait = tat + need * interval - period - now
  if wait < 1 then wait = 1 end
  return {0, tostring(wait)}
end
local granted = math.min(math.max(want, need), available)
if ARGV[5] == '1' then
  granted = math.max(need, math.min(granted, math.floor(available / 4)))
end
tat = tat + granted * interval
redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
return {granted, '0'}
"""

# KEYS: tat key; ARGV: amount (> 0 returned, < 0 charged), limit, period ms
_GIVE_BACK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local amount, limit, period = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local interval = period / limit
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
tat = tat - amount * interval
if tat <= now then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
return 1
"""


class RateStore(ABC):
    """The shared buckets of every rate limit. ``key`` names one limit (``model:rpm:...``)."""

    backend: str = "?"
    sliced: bool = False  # whether replicas lease capacity in slices (see limits/lease.py)

    @abstractmethod
    async def take(self, key: str, *, want: int, need: int, limit: int) -> Grant:
        """Between ``need`` and ``want`` units of ``key``'s ``limit`` per minute, or none (with
        the time until ``need`` would be granted)."""

    @abstractmethod
    async def give_back(self, key: str, amount: int, *, limit: int) -> None:
        """Return unused units (``amount`` > 0) or charge units used beyond a grant (< 0)."""


class MemoryRateStore(RateStore):
    """One process's buckets (the embedded default, and each replica's own during a Redis
    outage). Bounded: a key whose bucket is full again is dropped."""

    backend = "memory"

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tat: dict[str, float] = {}

    async def take(self, key: str, *, want: int, need: int, limit: int) -> Grant:
        return self.take_now(key, want=want, need=need, limit=limit)

    def take_now(self, key: str, *, want: int, need: int, limit: int) -> Grant:
        now = self._clock()
        grant, tat = take(
            self._tat.get(key),
            now,
            want=want,
            need=need,
            limit=limit,
            period_s=PERIOD_S,
            sliced=self.sliced,
        )
        if tat is not None and grant.granted:
            self._tat[key] = tat
        if len(self._tat) > 10_000:
            self._tat = {k: v for k, v in self._tat.items() if v > now}
        return grant

    async def give_back(self, key: str, amount: int, *, limit: int) -> None:
        self.give_back_now(key, amount, limit=limit)

    def give_back_now(self, key: str, amount: int, *, limit: int) -> None:
        tat = give_back(
            self._tat.get(key), self._clock(), amount=amount, limit=limit, period_s=PERIOD_S
        )
        if tat is None:
            self._tat.pop(key, None)
        else:
            self._tat[key] = tat


class RedisRateStore(RateStore):
    """The buckets of every replica, in the state store's Redis (its client, pool and hash
    tag: every key in one slot, as the state store's are)."""

    backend = "redis"
    sliced = True

    def __init__(self, state: Any) -> None:
        self._state = state
        client = state.client
        self._take = client.register_script(_TAKE)
        self._give_back = client.register_script(_GIVE_BACK)

    def _key(self, key: str) -> str:
        return str(self._state.key("rl", key))

    async def take(self, key: str, *, want: int, need: int, limit: int) -> Grant:
        args = [want, need, limit, int(PERIOD_S * 1000), 1 if self.sliced else 0]
        granted, wait_ms = await self._run(self._take, self._key(key), args)
        return Grant(int(granted), float(wait_ms) / 1000 if not int(granted) else 0.0)

    async def give_back(self, key: str, amount: int, *, limit: int) -> None:
        await self._run(self._give_back, self._key(key), [amount, limit, int(PERIOD_S * 1000)])

    async def _run(self, script: Any, key: str, args: list[Any]) -> Any:
        from redis.exceptions import RedisError

        try:
            return await script(keys=[key], args=args)
        except (RedisError, OSError) as exc:
            raise StateUnavailable(f"Redis {self._state.description}: {exc}") from None
