"""The budget counters on Redis: one hash per (scope, period) under the state store's prefix
(``{llmg}:budget:<scope>|<period id>``: the hash tag keeps every key in one slot, so one script
may sync many counters), fields ``spent`` and, per replica, ``l:<id>`` (lease) and ``e:<id>``
(its expiry, Redis time). The hash expires an hour after its period ends. A sync also counts
the live replicas of the state store's heartbeat set (same slot), for the ``local`` fail mode's
shares.

The scripts are :mod:`.counters`' algorithm; amounts are whole nano-USD, below 2^53 (caps are
at most 1e6 USD), so Lua's numbers hold them exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llm_gateway.budgets.counters import (
    AFTER_PERIOD_S,
    BudgetCounters,
    CounterView,
    SyncAnswer,
    SyncItem,
)

# KEYS: counters, then the replicas' heartbeat set; ARGV: replica, ttl ms, then per key: cap,
# delta, hold, want, need
_SYNC = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rid = ARGV[1]
local ttl = tonumber(ARGV[2])
local live = redis.call('ZCOUNT', KEYS[#KEYS], now / 1000, '+inf')
local out = {}
for i = 1, #KEYS - 1 do
  local k = KEYS[i]
  local b = 2 + (i - 1) * 5
  local cap = tonumber(ARGV[b + 1])
  local delta = tonumber(ARGV[b + 2])
  local hold = tonumber(ARGV[b + 3])
  local want = tonumber(ARGV[b + 4])
  local need = tonumber(ARGV[b + 5])
  if redis.call('EXISTS', k) == 0 then
    out[i] = {0}
  else
    local spent = redis.call('HINCRBY', k, 'spent', delta)
    local all = redis.call('HGETALL', k)
    local others, holders = 0, 1
    for j = 1, #all, 2 do
      local f = all[j]
      if string.sub(f, 1, 2) == 'e:' then
        local holder = string.sub(f, 3)
        if holder ~= rid then
          if tonumber(all[j + 1]) < now then
            redis.call('HDEL', k, f, 'l:' .. holder)
          else
            holders = holders + 1
            others = others + tonumber(redis.call('HGET', k, 'l:' .. holder) or '0')
          end
        end
      end
    end
    local avail = cap - spent - others
    local lease = hold
    if want > hold then
      local room = avail - hold
      if room >= want - hold then
        lease = want
      elseif room > 0 then
        lease = hold + math.floor(room / (2 * holders))
        if lease < need and need <= avail then
          lease = need
        end
      end
    end
    local ok = 1
    if lease < need then
      ok = 0
      lease = hold
    end
    if lease > 0 then
      redis.call('HSET', k, 'l:' .. rid, lease, 'e:' .. rid, now + ttl)
    else
      redis.call('HDEL', k, 'l:' .. rid, 'e:' .. rid)
    end
    out[i] = {1, lease, spent, others, holders, ok, math.max(live, holders)}
  end
end
return out
"""

# KEYS: counter; ARGV: spent, expire at (ms)
_INIT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'spent', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
"""

# KEYS: counters → per key {exists, spent, live leases, holders}
_READ = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 1, #KEYS do
  local all = redis.call('HGETALL', KEYS[i])
  if #all == 0 then
    out[i] = {0}
  else
    local h = {}
    for j = 1, #all, 2 do
      h[all[j]] = all[j + 1]
    end
    local leased, holders = 0, 0
    for f, v in pairs(h) do
      if string.sub(f, 1, 2) == 'e:' and tonumber(v) >= now then
        holders = holders + 1
        leased = leased + tonumber(h['l:' .. string.sub(f, 3)] or '0')
      end
    end
    out[i] = {1, tonumber(h['spent'] or '0'), leased, holders}
  end
end
return out
"""


class RedisBudgetCounters(BudgetCounters):
    """Counters in the Redis of a :class:`~llm_gateway.state.redis_store.RedisStateStore`
    (its client, pool and key naming; its error translation)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        client = store.client
        self._sync = client.register_script(_SYNC)
        self._init = client.register_script(_INIT)
        self._read = client.register_script(_READ)

    def _key(self, key: str) -> str:
        return str(self._store.key("budget", key))

    async def sync(self, replica: str, items: Sequence[SyncItem], ttl_s: float) -> list[SyncAnswer]:
        if not items:
            return []
        args: list[Any] = [replica, max(1, int(ttl_s * 1000))]
        for item in items:
            args += [item.cap, item.delta, item.hold, item.want, item.need]
        keys = [self._key(item.key) for item in items] + [self._store.key("replicas")]
        raw = await self._store.guarded(self._sync(keys=keys, args=args))
        return [
            SyncAnswer(True, int(r[1]), int(r[2]), int(r[3]), int(r[4]), bool(int(r[5])), int(r[6]))
            if int(r[0])
            else SyncAnswer(False)
            for r in raw
        ]

    async def init(self, key: str, spent: int, expire_at: float) -> bool:
        expire_ms = int((expire_at + AFTER_PERIOD_S) * 1000)
        created = await self._store.guarded(
            self._init(keys=[self._key(key)], args=[spent, expire_ms])
        )
        return bool(created)

    async def read(self, keys: Sequence[str]) -> list[CounterView | None]:
        if not keys:
            return []
        raw = await self._store.guarded(self._read(keys=[self._key(k) for k in keys]))
        return [CounterView(int(r[1]), int(r[2]), int(r[3])) if int(r[0]) else None for r in raw]
