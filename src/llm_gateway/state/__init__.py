"""Live state shared by every replica (see :mod:`.base`): ``memory`` for one process, ``redis``
when ``REDIS_URL`` is set; :mod:`.control` is one replica's side of it."""

from __future__ import annotations

from llm_gateway.settings import Settings
from llm_gateway.state.base import ControlState, StateStore, StateUnavailable
from llm_gateway.state.memory import MemoryStateStore

__all__ = ["ControlState", "MemoryStateStore", "StateStore", "StateUnavailable", "open_state_store"]


def open_state_store(settings: Settings) -> StateStore:
    """Redis when ``REDIS_URL`` is set, else this process's memory."""
    if settings.REDIS_URL is None:
        return MemoryStateStore()
    from llm_gateway.state.redis_store import RedisStateStore

    return RedisStateStore(
        settings.REDIS_URL.get_secret_value(),
        prefix=settings.GATEWAY_REDIS_PREFIX,
        cluster=settings.GATEWAY_REDIS_CLUSTER,
    )
