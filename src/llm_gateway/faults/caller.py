"""The caller's side: one chat completion through the gateway with the official ``openai`` SDK.

The SDK's own retries are off (``max_retries=0``) so what is scored is what the gateway answers
to one request. The outcome says what a careful client would conclude:

- ``answer``: HTTP 200 and a finished answer (``finish_reason`` given, streamed or not);
- ``error``: a clear error — an HTTP error status, or (``in_band``) an error event in a stream;
- ``unfinished``: HTTP 200 and no error, but no ``finish_reason``: a truncated answer that a
  client would take for a success;
- ``hang``: no outcome before the caller's timeout.

Whether a finished answer is the *complete* one is for scoring (it knows the expected text).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import openai


@dataclass(frozen=True, slots=True)
class CallerOutcome:
    kind: str  # answer | error | unfinished | hang
    status: int  # HTTP status (200 for a stream that started; 0 when none arrived)
    text: str = ""
    model: str | None = None  # the ``model`` of the answer
    finish_reason: str | None = None
    code: str | None = None  # the error's code or type
    message: str = ""
    in_band: bool = False  # an error event inside a 200 stream
    elapsed_s: float = 0.0
    chunk_models: tuple[str, ...] = ()  # every distinct ``model`` the stream's chunks named
    usage: dict[str, Any] | None = None  # the answer's usage (streams: the final usage chunk)

    def describe(self) -> str:
        """``200 complete (218 chars, stop) in 0.4 s``, ``400 content_filter in 0.3 s``, ..."""
        took = f"in {self.elapsed_s:.1f} s"
        if self.kind == "answer":
            return f"{self.status} answer ({len(self.text)} chars, {self.finish_reason}) {took}"
        if self.kind == "error":
            where = "200 + in-band error" if self.in_band else str(self.status)
            return f"{where} {self.code or ''} {took}".replace("  ", " ")
        if self.kind == "unfinished":
            return f"{self.status} with no finish_reason after {len(self.text)} chars {took}"
        return f"no answer within {self.elapsed_s:.0f} s"


def client_for(base_url: str, timeout_s: float) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{base_url}/v1", api_key="faults-caller", max_retries=0, timeout=timeout_s
    )


def call(
    client: openai.OpenAI,
    model: str,
    messages: list[dict[str, Any]],
    *,
    stream: bool,
    extra: dict[str, Any] | None = None,
) -> CallerOutcome:
    """One request; never raises for what the gateway answers."""
    started = time.monotonic()
    try:
        if stream:
            outcome = _streamed(client, model, messages, extra or {})
        else:
            outcome = _single(client, model, messages, extra or {})
    except openai.APITimeoutError:
        return CallerOutcome("hang", 0, elapsed_s=time.monotonic() - started)
    except openai.APIStatusError as error:
        outcome = CallerOutcome(
            "error", error.status_code, code=_code(error), message=str(error.message)[:300]
        )
    except openai.APIConnectionError as error:
        outcome = CallerOutcome("error", 0, code="connection_error", message=str(error)[:300])
    return _timed(outcome, started)


def _single(
    client: openai.OpenAI, model: str, messages: Any, extra: dict[str, Any]
) -> CallerOutcome:
    completion = client.chat.completions.create(
        model=model, messages=messages, extra_body=extra or None
    )
    choice = completion.choices[0]
    kind = "answer" if choice.finish_reason else "unfinished"
    usage = completion.usage.model_dump() if completion.usage else None
    return CallerOutcome(
        kind,
        200,
        choice.message.content or "",
        completion.model,
        choice.finish_reason,
        usage=usage,
    )


def _streamed(
    client: openai.OpenAI, model: str, messages: Any, extra: dict[str, Any]
) -> CallerOutcome:
    pieces: list[str] = []
    finish: str | None = None
    models: dict[str, None] = {}
    usage: dict[str, Any] | None = None
    stream = client.chat.completions.create(
        model=model,
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
        extra_body=extra or None,
    )
    try:
        for chunk in stream:
            models.setdefault(chunk.model)
            usage = chunk.usage.model_dump() if chunk.usage else usage
            for choice in chunk.choices:
                pieces.append(choice.delta.content or "")
                finish = choice.finish_reason or finish
    except openai.APIError as error:
        if isinstance(error, openai.APITimeoutError):
            raise
        return CallerOutcome(
            "error",
            200,
            "".join(pieces),
            next(iter(models), None),
            code=_code(error),
            message=str(error.message)[:300],
            in_band=True,
            chunk_models=tuple(models),
        )
    finally:
        stream.close()
    kind = "answer" if finish else "unfinished"
    first = next(iter(models), None)
    text = "".join(pieces)
    return CallerOutcome(kind, 200, text, first, finish, chunk_models=tuple(models), usage=usage)


def _code(error: openai.APIError) -> str | None:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            code = inner.get("code") or inner.get("type")
            return str(code) if code is not None else None
    return error.code


def _timed(outcome: CallerOutcome, started: float) -> CallerOutcome:
    return dataclasses.replace(outcome, elapsed_s=time.monotonic() - started)
