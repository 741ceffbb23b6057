"""A dedicated event loop on a daemon thread, for running the gateway behind sync and async
callers alike.

The in-process gateway keeps loop-bound state (HTTP connection pools, background writers), so
every call of a node client runs on this one loop, whether the caller is synchronous (with or
without a running loop of its own) or asynchronous on another loop:

    loop = background_loop()
    value = loop.run(coro)            # from sync code: blocks this thread until done
    value = await loop.arun(coro)     # from async code on any loop: awaits without blocking it
    for item in loop.iterate(agen):   # a sync view of an async iterator run on the loop
    async for item in loop.aiterate(agen):
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

_T = TypeVar("_T")
_START_TIMEOUT_S = 10.0


class LoopThread:
    """One event loop running forever on its own daemon thread."""

    def __init__(self, name: str = "llm-gateway-clients") -> None:
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()
        if not self._started.wait(_START_TIMEOUT_S):  # pragma: no cover - a stuck machine
            raise RuntimeError("the node clients' event loop did not start")

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._started.set)
        self._loop.run_forever()

    def _on_own_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coro`` on the loop and wait for its result (raises what it raises)."""
        if self._on_own_thread():
            coro.close()
            raise RuntimeError("a sync node-client call from inside its own loop would deadlock")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def arun(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Await ``coro`` run on the loop; cancelling the caller cancels it there too."""
        if self._on_own_thread():
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def iterate(self, source: AsyncIterator[_T]) -> Iterator[_T]:
        """Items of ``source`` (advanced on the loop) one by one, as soon as each is ready.
        Leaving early closes ``source`` on the loop."""
        done = False
        try:
            while True:
                item = self.run(_next(source))
                if item is _END:
                    done = True
                    return
                yield item
        finally:
            if not done:
                self.run(_aclose(source))

    async def aiterate(self, source: AsyncIterator[_T]) -> AsyncIterator[_T]:
        """:meth:`iterate` for async callers on any loop."""
        if self._on_own_thread():
            async for item in source:
                yield item
            return
        done = False
        try:
            while True:
                item = await self.arun(_next(source))
                if item is _END:
                    done = True
                    return
                yield item
        finally:
            if not done:
                await self.arun(_aclose(source))


_END: Any = object()


async def _next(source: AsyncIterator[_T]) -> _T:
    """The next item, or ``_END`` (an exception would cross threads as StopAsyncIteration)."""
    try:
        return await source.__anext__()
    except StopAsyncIteration:
        return _END


async def _aclose(source: AsyncIterator[Any]) -> None:
    closer = getattr(source, "aclose", None)
    if closer is not None:
        with contextlib.suppress(Exception):
            await closer()


_shared: LoopThread | None = None
_shared_lock = threading.Lock()


def background_loop() -> LoopThread:
    """The process's node-client loop, started on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = LoopThread()
        return _shared
