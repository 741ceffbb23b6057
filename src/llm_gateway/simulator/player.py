"""Play a timeline on an HTTP connection: SSE framing, pacing, cuts and resets.

Timelines that are due at once (zero latency, no stall) are written synchronously in one
``write`` — the fast path the benchmarks measure; the others run as a task that sleeps until
each step is due and stops as soon as the client goes away.
"""

from __future__ import annotations

import asyncio

import orjson

from llm_gateway.simulator.http import Connection, frame, head
from llm_gateway.simulator.timeline import Step, StepKind, Timeline
from llm_gateway.simulator.wire import PROCESSING_COMMENT, Reply, ResponseMeta, TokenTemplate

_DONE = frame(b"data: [DONE]\n\n")
_COMMENT = frame(PROCESSING_COMMENT)
_END = b"0\r\n\r\n"
_EVENT_STREAM = b"text/event-stream"
_JSON = b"application/json"
# Module-level aliases: enum class attribute lookups are measurably slower on the hot path.
_EVENT, _DONE_STEP, _END_STEP = StepKind.EVENT, StepKind.DONE, StepKind.END


class _Player:
    """Renders steps into a buffer; flushes before sleeping and before closing."""

    __slots__ = ("buffer", "conn", "keep_alive", "meta", "started", "template")

    def __init__(self, conn: Connection, keep_alive: bool, meta: ResponseMeta | None) -> None:
        self.conn = conn
        self.keep_alive = keep_alive
        self.meta = meta
        self.template: TokenTemplate | None = None
        self.buffer: list[bytes] = []
        self.started = False  # response headers sent

    def _token(self, piece: str) -> bytes:
        if self.template is None:
            assert self.meta is not None
            self.template = TokenTemplate(self.meta)
        return self.template.render(piece)

    def flush(self) -> None:
        if self.buffer:
            self.conn.write(b"".join(self.buffer))
            self.buffer.clear()

    def apply(self, step: Step) -> bool:
        """Render one step; False when the connection is finished with (closed or reset)."""
        kind = step.kind
        if kind is _EVENT:
            append = self.buffer.append
            for payload in step.payload:
                data = self._token(payload) if type(payload) is str else orjson.dumps(payload)
                append(frame(b"data: " + data + b"\n\n"))
        elif kind is _DONE_STEP:
            self.buffer.append(_DONE)
        elif kind is StepKind.COMMENT:
            self.buffer.append(_COMMENT)
        elif kind is StepKind.HEADERS:
            self.buffer.append(head(200, _EVENT_STREAM, step.payload, self.keep_alive, None))
            self.started = True
        elif kind is StepKind.RAW:
            self.buffer.append(frame(b"data: " + step.payload + b"\n\n"))
        elif kind is _END_STEP:
            self.buffer.append(_END)
            self.flush()
            if not self.keep_alive:
                self.conn.close()
        elif kind is StepKind.RESPONSE:
            self.flush()
            return self._respond(step.payload)
        else:  # CLOSE, RESET
            self.flush()
            if kind is StepKind.RESET and not self.started:
                self.conn.reset()
            else:
                self.conn.close()  # a cut body: the client read what was sent, then EOF
            return False
        return True

    def _respond(self, reply: Reply) -> bool:
        body = reply.body if isinstance(reply.body, bytes) else orjson.dumps(reply.body)
        if not reply.cut:
            self.conn.respond(reply.status, body, self.keep_alive, reply.headers)
            return self.keep_alive
        self.conn.write(head(reply.status, _JSON, reply.headers, False, len(body)))
        self.conn.write(body[: len(body) // 2])
        self.conn.close()
        return False


def play_now(timeline: Timeline, conn: Connection, keep_alive: bool) -> None:
    """Write a timeline whose steps are all due now."""
    player = _Player(conn, keep_alive, timeline.meta)
    for step in timeline.steps:
        if not player.apply(step):
            return
    player.flush()


async def play(timeline: Timeline, conn: Connection, keep_alive: bool) -> None:
    """Write each step when it is due; stop when the client disconnects."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    player = _Player(conn, keep_alive, timeline.meta)
    for step in timeline.steps:
        delay = start + step.at - loop.time()
        if delay > 0:
            player.flush()
            await conn.drain()
            await asyncio.sleep(delay)
            if conn.closed:
                return
        if step.kind is StepKind.HOLD:
            await conn.wait_closed(step.payload)
            conn.close()
            return
        if not player.apply(step):
            return
        if len(player.buffer) > 64:
            player.flush()
            await conn.drain()
    player.flush()
