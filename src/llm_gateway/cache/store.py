"""``ResponseCache``: which requests may be answered from the cache, under which key, and the
entries themselves in the state store (Redis: shared by every replica, each entry with its TTL;
memory: this process, least recently used evicted past a fixed bound).

Only deterministic requests are cached — ``temperature`` 0 or a ``seed``, one choice — and only
when the node's ``cache: {ttl_s}`` or the request's ``X-Gateway-Cache: ttl=…`` asks for it
(``X-Gateway-Cache: no-store`` refuses it). The key is a SHA-256 of the normalised request: the
model selection chose, the node, and every field of the body but those that do not change the
answer (``stream``, ``stream_options``, ``user``, ``metadata``), keys sorted. Choosing the model
first means an override or a disabled model never serves a stale answer from the model before.

The cache never fails a request: a store that does not answer is a miss (counted, said once per
outage), and entries are written off the request path.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from llm_gateway.exchange import Plan
from llm_gateway.state.base import StateStore, StateUnavailable
from llm_gateway.state.memory import MemoryStateStore

logger = logging.getLogger("llm_gateway.cache")

_IGNORED = frozenset({"stream", "stream_options", "user", "metadata", "model"})
_MAX_PENDING_WRITES = 256


@dataclass(frozen=True, slots=True)
class CacheTicket:
    key: str
    ttl_s: float


@dataclass(slots=True)
class CachedAnswer:
    """What a hit replays: the answering model, its usage, what it cost, and the answer — the
    body of a completion, or a stream's chunks in order."""

    model: str
    usage: dict[str, Any] | None
    cost: Decimal
    body: dict[str, Any] | None = None
    chunks: list[dict[str, Any]] | None = None

    def to_json(self) -> str:
        document = {
            "model": self.model,
            "usage": self.usage,
            "cost": format(self.cost, "f"),
            "body": self.body,
            "chunks": self.chunks,
        }
        return orjson.dumps(document).decode()

    @classmethod
    def from_json(cls, text: str) -> CachedAnswer:
        data = orjson.loads(text)
        return cls(
            model=str(data["model"]),
            usage=data.get("usage"),
            cost=Decimal(str(data["cost"])),
            body=data.get("body"),
            chunks=data.get("chunks"),
        )


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    writes: int = 0
    skipped_too_large: int = 0
    errors: int = 0
    by_node: dict[tuple[str, str], int] = field(default_factory=dict)


class ResponseCache:
    """One per gateway. The state store is the control plane's when there is one."""

    def __init__(self, *, max_ttl_s: float, max_entry_chars: int) -> None:
        self.max_ttl_s = max_ttl_s
        self.max_entry_chars = max_entry_chars
        self.stats = CacheStats()
        self.store: StateStore = MemoryStateStore()
        self._failing = False
        self._pending: set[asyncio.Task[None]] = set()

    def ticket(self, plan: Plan) -> CacheTicket | None:
        """The request's cache key and TTL, or None when it is not to be cached."""
        directive = plan.route.cache
        if directive is not None and directive.bypass:
            return None
        ttl = directive.ttl_s if directive is not None else plan.requirements.cache_ttl_s
        if ttl is None or not deterministic(plan.request):
            return None
        return CacheTicket(cache_key(plan), min(ttl, self.max_ttl_s))

    async def get(self, ticket: CacheTicket, node: str) -> CachedAnswer | None:
        try:
            text = await self.store.cache_get(ticket.key)
        except StateUnavailable as exc:
            self._failed(exc)
            return None
        self._recovered()
        if text is None:
            self._count(node, "miss")
            return None
        try:
            answer = CachedAnswer.from_json(text)
        except (ValueError, KeyError, TypeError, ArithmeticError):
            self._count(node, "miss")  # an entry an older version wrote: replaced on success
            return None
        self._count(node, "hit")
        return answer

    def put_later(self, ticket: CacheTicket, answer: CachedAnswer) -> None:
        """Store ``answer`` in the background (bounded: past the bound, not stored)."""
        text = answer.to_json()
        if len(text) > self.max_entry_chars:
            self.stats.skipped_too_large += 1
            return
        if len(self._pending) >= _MAX_PENDING_WRITES:
            return
        task = asyncio.get_running_loop().create_task(self._put(ticket, text))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _put(self, ticket: CacheTicket, text: str) -> None:
        try:
            await self.store.cache_put(ticket.key, text, ticket.ttl_s)
        except StateUnavailable as exc:
            self._failed(exc)
            return
        self.stats.writes += 1

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=2)

    def _count(self, node: str, outcome: str) -> None:
        if outcome == "hit":
            self.stats.hits += 1
        else:
            self.stats.misses += 1
        key = (node, outcome)
        self.stats.by_node[key] = self.stats.by_node.get(key, 0) + 1

    def _failed(self, exc: StateUnavailable) -> None:
        self.stats.errors += 1
        if not self._failing:
            self._failing = True
            logger.warning("response cache unavailable (%s): requests go upstream", exc)

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            logger.warning("response cache available again")


def deterministic(request: Any) -> bool:
    """Temperature 0 or a seed, and one choice: the requests whose answer may be reused."""
    n = request.get("n")
    if n not in (None, 1):
        return False
    temperature = request.get("temperature")
    seed = request.get("seed")
    zero = isinstance(temperature, int | float) and not isinstance(temperature, bool)
    seeded = isinstance(seed, int) and not isinstance(seed, bool)
    return (zero and temperature == 0) or seeded


def cache_key(plan: Plan) -> str:
    body = {k: v for k, v in plan.request.items() if k not in _IGNORED}
    document = {
        "model": plan.selection.selected_model.logical_id,
        "node": plan.route.node_name,
        "body": body,
    }
    digest = orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(digest).hexdigest()
