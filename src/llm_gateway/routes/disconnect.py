"""Stopping a request's work when its client goes away.

ASGI servers do not cancel a handler whose client disconnected; they only answer a later
``receive()`` with ``http.disconnect``. A small watcher task waits for that message and cancels
the task doing the work, so the upstream call is abandoned (not counted against the model, no
fallback called and billed for nobody). The watcher consumes ``receive()``: start it only once
the request body has been read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.requests import ClientDisconnect
from starlette.types import Receive

T = TypeVar("T")


class WatchState:
    """Shared by the watcher and the watched task: has the client left, is the work done."""

    __slots__ = ("disconnected", "finished")

    def __init__(self) -> None:
        self.disconnected = False
        self.finished = False


async def watch_disconnect(receive: Receive, task: asyncio.Task[Any], state: WatchState) -> None:
    """Cancel ``task`` when the client disconnects before ``state.finished``."""
    while not state.finished:
        message = await receive()
        if message["type"] == "http.disconnect":
            if not state.finished:
                state.disconnected = True
                task.cancel()
            return


async def until_disconnect(receive: Receive, work: Awaitable[T]) -> T:
    """``await work`` unless the client leaves first: then the work is cancelled and
    ClientDisconnect raised. Any other cancellation propagates unchanged."""
    task = asyncio.current_task()
    assert task is not None
    state = WatchState()
    watcher = asyncio.create_task(watch_disconnect(receive, task, state))
    try:
        return await work
    except asyncio.CancelledError:
        if not state.disconnected:
            raise
        task.uncancel()
        raise ClientDisconnect() from None
    finally:
        state.finished = True
        watcher.cancel()
