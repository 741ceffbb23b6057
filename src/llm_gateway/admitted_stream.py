"""The stream :meth:`LLMGateway.stream` hands out: answered from the response cache when it
may be, else admitted (budgets, rate limits) before it opens; a complete answer to a cacheable
request is then cached."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from llm_gateway.cache.replay import hit_model, recording, replay_chunks, start_replay
from llm_gateway.cache.store import CachedAnswer, CacheTicket
from llm_gateway.streaming import GatewayStream


class AdmittedStream(GatewayStream):
    """A GatewayStream whose start() answers from the response cache when it may, else runs
    the admission hooks first; a complete answer to a cacheable request is then cached."""

    _ticket: CacheTicket | None = None
    _hit: CachedAnswer | None = None

    async def start(self) -> None:
        gateway = self._gateway
        self._ticket = ticket = gateway.cache.ticket(self.plan)
        if ticket is not None:
            hit = await gateway.cache.get(ticket, self.plan.route.node_label)
            if hit is not None and hit.chunks is not None:
                policy = hit_model(gateway, self.plan, hit)
                if policy is not None:
                    self._hit = hit
                    start_replay(self, policy, hit)
                    return
        await gateway._admit(self.plan)
        await super().start()

    @property
    def cache_outcome(self) -> str | None:
        if self._ticket is None:
            return None
        return "hit" if self._hit is not None else "miss"

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        if self._hit is not None:
            return replay_chunks(self, self._hit)
        if self._ticket is not None:
            return recording(self._gateway, self, self._ticket, self._events())
        return self._events()
