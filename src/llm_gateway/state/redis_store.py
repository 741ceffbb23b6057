"""The ``redis`` state store: redis-py asyncio (hiredis parser), one connection pool, a Lua
script for every read-modify-write, every key under ``{<GATEWAY_REDIS_PREFIX>}:`` — the hash tag
puts every key in one slot, so the scripts also run on Redis Cluster — and bounded: control
state is one hash, replicas expire, acknowledgements live a minute, leases their TTL.

URLs: ``redis://``, ``rediss://`` and ``unix://`` as redis-py reads them; Sentinel as
``redis+sentinel://host1:26379,host2:26379/<master name>[/<db>]``; Cluster with
``GATEWAY_REDIS_CLUSTER=true`` and any node's ``redis://`` URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from llm_gateway.redaction import redact
from llm_gateway.state.base import (
    Change,
    ControlState,
    EventHandler,
    StateStore,
    StateUnavailable,
)

logger = logging.getLogger("llm_gateway.state")

_ACK_TTL_S = 60
MAX_CONNECTIONS = 64  # per replica; requests share them (scripts are one round trip each)
_SEP = "\x1f"

# KEYS: state hash, version; ARGV: triples (op "set"|"del", field, json)
_CONTROL_CHANGE = """
for i = 1, #ARGV, 3 do
  if ARGV[i] == 'set' then
    redis.call('HSET', KEYS[1], ARGV[i + 1], ARGV[i + 2])
  else
    redis.call('HDEL', KEYS[1], ARGV[i + 1])
  end
end
return redis.call('INCR', KEYS[2])
"""

# KEYS: state hash, version; ARGV: pairs (field, json)
_CONTROL_REPLACE = """
redis.call('DEL', KEYS[1])
for i = 1, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return redis.call('INCR', KEYS[2])
"""

# KEYS: state hash, version → {version, flat hash}: one consistent read
_CONTROL_READ = """
local version = redis.call('GET', KEYS[2]) or '0'
return {version, redis.call('HGETALL', KEYS[1])}
"""

# KEYS: zset, info key; ARGV: id, expires_at, info json, ttl ms
_HEARTBEAT = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 1
"""

# KEYS: ack hash; ARGV: replica, json, ttl s
_ACK = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: lease; ARGV: holder, ttl ms
_TRY_LEASE = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

_RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def connect(url: str, *, cluster: bool = False) -> Any:
    """A redis-py asyncio client for ``url`` (see the module doc for the forms)."""
    common: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": 2.0,
        "socket_connect_timeout": 2.0,
        "health_check_interval": 15,
    }
    if url.startswith("redis+sentinel://"):
        parts = urlsplit(url)
        hosts = []
        for item in (parts.netloc.rsplit("@", 1)[-1]).split(","):
            host, _, port = item.partition(":")
            hosts.append((host, int(port or 26379)))
        path = [p for p in parts.path.split("/") if p]
        if not path:
            raise StateUnavailable("REDIS_URL: a sentinel URL names the master: .../<master>")
        db = int(path[1]) if len(path) > 1 else 0
        sentinel = aioredis.Sentinel(hosts, password=parts.password, db=db, **common)
        client = sentinel.master_for(path[0])
        client.sentinel_clients = list(sentinel.sentinels)  # closed with the client
        return client
    if cluster:
        return aioredis.RedisCluster.from_url(url, **common)
    # A blocking pool: past max_connections concurrent commands wait for a connection (up to
    # the socket timeout) instead of failing with "Too many connections".
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=2.0, **common
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes it


class RedisStateStore(StateStore):
    backend = "redis"

    def __init__(self, url: str, *, prefix: str = "llmg", cluster: bool = False) -> None:
        self._url = url
        self._client = connect(url, cluster=cluster)
        tag = self._tag = "{" + prefix + "}"
        self._state_key = f"{tag}:control:state"
        self._version_key = f"{tag}:control:version"
        self._replicas_key = f"{tag}:replicas"
        self._replica_prefix = f"{tag}:replica:"
        self._ack_prefix = f"{tag}:ack:"
        self._lease_prefix = f"{tag}:lease:"
        self.channel = f"{tag}:events"
        self._scripts = {
            name: self._client.register_script(source)
            for name, source in {
                "change": _CONTROL_CHANGE,
                "replace": _CONTROL_REPLACE,
                "read": _CONTROL_READ,
                "heartbeat": _HEARTBEAT,
                "ack": _ACK,
                "try_lease": _TRY_LEASE,
                "release_lease": _RELEASE_LEASE,
            }.items()
        }
        self._handlers: list[EventHandler] = []
        self._listener: asyncio.Task[None] | None = None
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def client(self) -> Any:
        """The redis-py client (one pool), for features with their own scripts."""
        return self._client

    def key(self, *parts: str) -> str:
        """A key of this store: ``{prefix}:part:part`` (same slot as every other key)."""
        return ":".join([self._tag, *parts])

    @property
    def description(self) -> str:
        return redact(_without_password(self._url))

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="llm-gateway-state-events")

    async def aclose(self) -> None:
        self._closing = True
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(RedisError, OSError):
            await self._client.aclose()
        for sentinel in getattr(self._client, "sentinel_clients", ()):
            with contextlib.suppress(RedisError, OSError):
                await sentinel.aclose()

    async def ping(self) -> None:
        await self._call(self._client.ping())

    async def guarded(self, awaitable: Any) -> Any:
        """Await a command of :attr:`client`; Redis errors raise StateUnavailable."""
        return await self._call(awaitable)

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except (RedisError, OSError) as exc:
            raise StateUnavailable(f"Redis {self.description}: {_reason(exc)}") from None

    async def _script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self._call(self._scripts[name](keys=keys, args=args))

    # -- control state ------------------------------------------------------------------------

    async def control_change(self, changes: Sequence[Change]) -> int:
        args: list[Any] = []
        for kind, key, value in changes:
            field = f"{kind}{_SEP}{key}"
            if value is None:
                args += ["del", field, ""]
            else:
                args += ["set", field, orjson.dumps(value).decode()]
        return int(await self._script("change", [self._state_key, self._version_key], args))

    async def control_state(self) -> ControlState:
        version, flat = await self._script("read", [self._state_key, self._version_key], [])
        entries: dict[str, dict[str, Any]] = {}
        for i in range(0, len(flat), 2):
            kind, _, key = flat[i].partition(_SEP)
            entries.setdefault(kind, {})[key] = orjson.loads(flat[i + 1])
        return ControlState(int(version), entries)

    async def control_replace(self, entries: Mapping[str, Mapping[str, Any]]) -> int:
        args: list[Any] = []
        for kind, values in entries.items():
            for key, value in values.items():
                args += [f"{kind}{_SEP}{key}", orjson.dumps(value).decode()]
        return int(await self._script("replace", [self._state_key, self._version_key], args))

    # -- events ---------------------------------------------------------------------------------

    async def publish(self, event: dict[str, Any]) -> None:
        await self._call(self._client.publish(self.channel, orjson.dumps(event).decode()))

    def on_event(self, handler: EventHandler) -> None:
        self._handlers.append(handler)

    async def _listen(self) -> None:
        """Deliver events to the handlers; on a lost connection, resubscribe (once a second)."""
        down_since: float | None = None
        while not self._closing:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if down_since is not None:
                    logger.warning(
                        "Redis %s events resumed after %.1f s",
                        self.description,
                        time.monotonic() - down_since,
                    )
                    down_since = None
                    await self._dispatch({"type": "resubscribed"})
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        await self._dispatch(orjson.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, orjson.JSONDecodeError) as exc:
                if down_since is None:
                    down_since = time.monotonic()
                    logger.error(
                        "Redis %s events lost (%s): serving from the last known state",
                        self.description,
                        _reason(exc),
                    )
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _dispatch(self, event: dict[str, Any]) -> None:
        for handler in list(self._handlers):
            task = asyncio.get_running_loop().create_task(handler(event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # -- replicas, acknowledgements, leases -------------------------------------------------------

    async def heartbeat(self, replica_id: str, info: Mapping[str, Any], ttl_s: float) -> None:
        now = time.time()
        body = orjson.dumps({**info, "at": now}).decode()
        await self._script(
            "heartbeat",
            [self._replicas_key, self._replica_prefix + replica_id],
            [replica_id, now + ttl_s, body, int(ttl_s * 1000)],
        )

    async def replicas(self) -> list[dict[str, Any]]:
        now = time.time()
        await self._call(self._client.zremrangebyscore(self._replicas_key, "-inf", now))
        ids = await self._call(self._client.zrange(self._replicas_key, 0, -1))
        if not ids:
            return []
        infos = await self._call(self._client.mget([self._replica_prefix + i for i in ids]))
        live = []
        for replica_id, info in zip(ids, infos, strict=True):
            if info is not None:
                live.append({"id": replica_id, **orjson.loads(info)})
        return live

    async def forget_replica(self, replica_id: str) -> None:
        await self._call(self._client.zrem(self._replicas_key, replica_id))
        await self._call(self._client.delete(self._replica_prefix + replica_id))

    async def ack(self, topic: str, replica_id: str, result: Mapping[str, Any]) -> None:
        await self._script(
            "ack",
            [self._ack_prefix + topic],
            [replica_id, orjson.dumps(dict(result)).decode(), _ACK_TTL_S],
        )

    async def acks(self, topic: str) -> dict[str, dict[str, Any]]:
        raw = await self._call(self._client.hgetall(self._ack_prefix + topic))
        return {replica: orjson.loads(value) for replica, value in raw.items()}

    async def try_lease(self, name: str, holder: str, ttl_s: float) -> bool:
        taken = await self._script(
            "try_lease", [self._lease_prefix + name], [holder, max(1, int(ttl_s * 1000))]
        )
        return bool(taken)

    async def release_lease(self, name: str, holder: str) -> None:
        await self._script("release_lease", [self._lease_prefix + name], [holder])

    async def cache_get(self, key: str) -> str | None:
        value = await self._call(self._client.get(self.key("cache", key)))
        return str(value) if value is not None else None

    async def cache_put(self, key: str, value: str, ttl_s: float) -> None:
        # Every entry expires; Redis's own maxmemory policy may evict it sooner.
        await self._call(
            self._client.set(self.key("cache", key), value, px=max(1, int(ttl_s * 1000)))
        )

    async def hold_put(self, family: str, name: str, value: str, ttl_s: float) -> None:
        key = self.key("hold", family, name)
        if ttl_s <= 0:
            await self._call(self._client.delete(key))
        else:
            await self._call(self._client.set(key, value, px=max(1, int(ttl_s * 1000))))

    async def holds(self, family: str, names: Sequence[str]) -> list[str | None]:
        if not names:
            return []
        keys = [self.key("hold", family, name) for name in names]
        values = await self._call(self._client.mget(keys))
        return [str(v) if v is not None else None for v in values]

    async def lease_holder(self, name: str) -> str | None:
        holder = await self._call(self._client.get(self._lease_prefix + name))
        return str(holder) if holder is not None else None

    async def key_count(self) -> int:
        """Keys under this store's prefix (for bounds checks and ``redis-stats``)."""
        pattern = self._state_key.split(":", 1)[0] + ":*"
        count = 0
        async for _ in self._client.scan_iter(match=pattern, count=1000):
            count += 1
        return count


def _without_password(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "redis"
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return redact(text[0]) if text else type(exc).__name__
