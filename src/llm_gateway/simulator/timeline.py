"""A timeline: what one attempt sends and when, as a list of timed steps.

The HTTP server plays a timeline on a socket; the in-process provider plays the same timeline
as ProviderResponse / StreamChunk values and ProviderError exceptions, so both behave the same.
Times are seconds from the moment the request was received.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from llm_gateway.simulator.engine import Answer, ChatRequest, plan_answer, usage_for
from llm_gateway.simulator.faults import ERROR_KINDS, error_reply
from llm_gateway.simulator.scenario import FaultSpec, ModelProfile, Scenario
from llm_gateway.simulator.wire import (
    Event,
    Reply,
    ResponseMeta,
    closing_chunks,
    completion_body,
    content_chunks,
    error_chunk,
    new_meta,
)


class StepKind(IntEnum):
    RESPONSE = 0  # payload: Reply — a whole (non-streaming or error) response
    HEADERS = 1  # payload: extra headers — a 200 event-stream response starts
    EVENT = 2  # payload: list[wire.Event] — ``data:`` events (dicts, or str content tokens)
    RAW = 3  # payload: bytes — one malformed ``data:`` line
    COMMENT = 4  # ": OPENROUTER PROCESSING" while the model thinks
    DONE = 5  # ``data: [DONE]``
    END = 6  # the body ends cleanly
    CLOSE = 7  # the connection closes after what was sent
    RESET = 8  # the connection is reset (before headers, or cutting a body)
    HOLD = 9  # payload: seconds — nothing is ever answered; the connection stays open


@dataclass(slots=True)
class Step:
    at: float
    kind: StepKind
    payload: Any = None


@dataclass(slots=True)
class Timeline:
    """``waits`` is True when a step is due after 0 s (the server then plays it in a task);
    ``fault`` names the fault or natural error applied; ``status`` is the HTTP status sent
    (0 when none is)."""

    steps: list[Step]
    waits: bool
    fault: str | None
    status: int
    meta: ResponseMeta | None = None


def reply_timeline(reply: Reply, fault: str | None = None) -> Timeline:
    return Timeline([Step(0.0, StepKind.RESPONSE, reply)], False, fault, reply.status)


def build_timeline(
    request: ChatRequest,
    profile: ModelProfile,
    scenario: Scenario,
    fault: FaultSpec | None,
    natural: str | None,
) -> Timeline:
    """The timeline of one attempt: an injected error fault first, else a natural error
    (``natural``), else the answer shaped by the other faults."""
    kind = fault.kind if fault is not None else None
    if fault is not None and fault.kind in ERROR_KINDS:
        return reply_timeline(error_reply(fault.kind, fault, request, profile), fault.kind)
    if natural is not None:
        return reply_timeline(error_reply(natural, None, request, profile), natural)
    if fault is not None and kind == "connection_reset":
        return Timeline([Step(0.0, StepKind.RESET)], False, kind, 0)
    if fault is not None and kind == "hang_up":
        return Timeline([Step(0.0, StepKind.CLOSE)], False, kind, 0)
    if fault is not None and kind == "no_response":
        return Timeline([Step(0.0, StepKind.HOLD, fault.hold_s)], True, kind, 0)
    answer = plan_answer(request, profile, scenario.answer)
    if fault is not None and kind == "finish_content_filter":
        pieces = answer.pieces[: fault.after_tokens]
        usage = usage_for(request, len(pieces), profile)
        answer = dataclasses.replace(
            answer, pieces=pieces, finish_reason="content_filter", usage=usage
        )
    extra_delay = fault.delay_s if fault is not None and fault.delay_s is not None else 0.0
    first_at = profile.ttft_s + extra_delay
    gap = 1.0 / profile.tokens_per_s if profile.tokens_per_s else 0.0
    meta = new_meta(profile)
    if request.stream:
        return _stream(meta, answer, fault, first_at, gap, scenario.processing_interval_s)
    return _single(meta, answer, fault, first_at + gap * len(answer.pieces))


def _single(meta: ResponseMeta, answer: Answer, fault: FaultSpec | None, at: float) -> Timeline:
    kind = fault.kind if fault is not None else None
    body = completion_body(meta, answer)
    reply = Reply(200, body, (("X-Generation-Id", meta.id),))
    if fault is not None and kind == "stream_stall":
        at += fault.stall_s or 0.0
    elif fault is not None and kind == "stream_error":
        sent = answer.pieces[: fault.after_tokens]
        body["choices"][0].update(finish_reason="error", native_finish_reason="error")
        body["choices"][0]["message"]["content"] = "".join(sent)
        body["error"] = _stream_error(fault)
    elif kind == "stream_cut":
        reply = dataclasses.replace(reply, cut=True)
    elif kind == "malformed_chunk":
        reply = dataclasses.replace(reply, body=_malformed(meta))
    return Timeline([Step(at, StepKind.RESPONSE, reply)], at > 0, kind, 200, meta)


def _stream(
    meta: ResponseMeta,
    answer: Answer,
    fault: FaultSpec | None,
    first_at: float,
    gap: float,
    interval: float,
) -> Timeline:
    """Headers, thinking comments, content chunks (with the fault placed after ``after_tokens``
    of them), then finish + usage chunks and ``[DONE]``."""
    kind = fault.kind if fault is not None else None
    headers: tuple[tuple[str, str], ...] = (("X-Generation-Id", meta.id),)
    if kind == "missing_done":
        headers += (("Connection", "close"),)
    steps = [Step(0.0, StepKind.HEADERS, headers)]
    thinking = 0.0
    interval = max(interval, first_at / 1000)  # at most 1000 comments, whatever the wait
    while thinking < first_at:
        steps.append(Step(thinking, StepKind.COMMENT))
        thinking += interval
    content = content_chunks(meta, answer)
    position = len(content) if fault is None else min(fault.after_tokens, len(content))
    at = _emit(steps, content[:position], first_at, gap)
    if fault is not None and kind in ("stream_cut", "stream_error"):
        if kind == "stream_cut":
            steps.append(Step(at, StepKind.RESET))
        else:
            steps.append(Step(at, StepKind.EVENT, [error_chunk(meta, *_error_fields(fault))]))
            steps.append(Step(at, StepKind.END))
        return Timeline(steps, True, kind, 200, meta)
    if kind == "malformed_chunk":
        steps.append(Step(at, StepKind.RAW, _malformed(meta)))
    if fault is not None and kind == "stream_stall":
        at += fault.stall_s or 0.0
    at = _emit(steps, content[position:], at, gap)
    steps.append(Step(at, StepKind.EVENT, closing_chunks(meta, answer)))
    if kind == "missing_done":
        steps += [Step(at, StepKind.END), Step(at, StepKind.CLOSE)]
    else:
        steps += [Step(at, StepKind.DONE), Step(at, StepKind.END)]
    return Timeline(steps, at > 0 or first_at > 0, kind, 200, meta)


def _emit(steps: list[Step], events: list[Event], at: float, gap: float) -> float:
    """Events from ``at``, one every ``gap`` seconds (one step for all when ``gap`` is 0);
    returns when the next event would be due."""
    if gap == 0:
        if events:
            steps.append(Step(at, StepKind.EVENT, events))
        return at
    for event in events:
        steps.append(Step(at, StepKind.EVENT, [event]))
        at += gap
    return at


def _malformed(meta: ResponseMeta) -> bytes:
    return b'{"id": "' + meta.id.encode() + b'", "choices": [{"delta": {"cont'


def _error_fields(fault: FaultSpec) -> tuple[int | str, str]:
    return fault.code or "server_error", fault.message or "Provider disconnected unexpectedly"


def _stream_error(fault: FaultSpec) -> dict[str, Any]:
    code, message = _error_fields(fault)
    return {"code": code, "message": message}
