"""The in-process simulated provider: the simulator's answers, usage, cost, tool calls and faults
without HTTP. ``make run`` uses it when no provider key is set.

It plays the :class:`~llm_gateway.simulator.timeline.Timeline` the HTTP simulator would play on
a socket and reads it the way :class:`~llm_gateway.providers.openai_compatible.
OpenAICompatibleProvider` reads the simulator's HTTP answers (errors mapped by the same
``errors_map``), so a scenario gives the same results in process and over HTTP:

- deadlines: ``headers_s`` bounds the wait for a non-streaming answer and for a stream's start;
  ``first_token_s`` the first content-bearing chunk; ``stall_s`` each next chunk from when the
  caller asks for it; ``deadline_at`` (``time.monotonic()`` terms) everything. Expiry raises
  ProviderTimeout (no response, slow first token, stall);
- a reset or a close (``hang_up``) after the request was read, before any response byte →
  ProviderDisconnected (the provider accepted the request and hung up: not retried); a body
  cut short →
  ProviderConnectionError; a cut stream → ProviderStreamError;
- error answers → ``errors_map`` (429 ProviderRateLimited with retry_after, 5xx/408
  ProviderUnavailable, moderation/content filter ContentFiltered, context length
  ContextLengthExceeded, other 4xx ProviderBadRequest, 401/402/403 ProviderAuthError);
- a mid-stream error event → ProviderStreamError; ``finish_reason: content_filter`` →
  ContentFiltered; a malformed chunk is skipped; a missing ``[DONE]`` ends the stream normally.

Latency is real by default (~0.3 s to the first token, 60 tokens/s, from the default scenario)
and none with ``zero_latency=True``. Errors name the policy's logical id as ``model``.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from llm_gateway.errors import (
    ContentFiltered,
    ProviderConnectionError,
    ProviderDisconnected,
    ProviderError,
    ProviderStreamError,
    ProviderTimeout,
    ProviderUnavailable,
)
from llm_gateway.model_policy import ModelPolicy
from llm_gateway.providers.base import (
    ProviderHealth,
    ProviderRequest,
    ProviderResponse,
    StreamChunk,
    Usage,
)
from llm_gateway.providers.deadlines import Deadline
from llm_gateway.providers.errors_map import (
    error_from_payload,
    is_content_filter_finish,
    stream_error_from_event,
)
from llm_gateway.simulator.attempts import AttemptRecord
from llm_gateway.simulator.scenario import (
    ModelSpec,
    Scenario,
    ScenarioSource,
    load_scenario,
    policy_spec,
)
from llm_gateway.simulator.simulation import ClientInfo, Simulation
from llm_gateway.simulator.timeline import StepKind, Timeline
from llm_gateway.simulator.wire import Reply, event_dict

Sleep = Callable[[float], Awaitable[Any]]
_HUNG_UP = "connection reset after the request, before any response"


class SimulatedProvider:
    """A :class:`~llm_gateway.providers.base.Provider` backed by an in-process Simulation.

    ``scenario`` is anything :func:`~llm_gateway.simulator.scenario.load_scenario` takes (None:
    the defaults). Models the scenario does not declare take prices, context window, output
    limit and typical latency from the request's policy.
    """

    name = "simulated"

    def __init__(
        self,
        scenario: ScenarioSource = None,
        *,
        zero_latency: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        loaded = load_scenario(scenario)
        if zero_latency is not None and zero_latency != loaded.zero_latency:
            loaded = Scenario.model_validate({**loaded.model_dump(), "zero_latency": zero_latency})
        self.simulation = Simulation(loaded, clock=clock)
        self._clock = clock
        self._sleep = sleep
        self._specs: dict[ModelPolicy, ModelSpec] = {}

    def attempts(self, model: str | None = None) -> list[AttemptRecord]:
        """Every attempt this provider received, in order (optionally only ``model``'s)."""
        return self.simulation.log.snapshot(model)

    def set_scenario(self, scenario: ScenarioSource) -> Scenario:
        """Replace the scenario (fault counters restart)."""
        return self.simulation.set_scenario(scenario)

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        body = {**request.body, "stream": False} if request.stream else request.body
        timeline, start = self._attempt(request, body)
        step = timeline.steps[0]
        if step.kind in (StepKind.RESET, StepKind.CLOSE):
            raise self._error(ProviderDisconnected, _HUNG_UP, request)
        headers_by = self._deadline(start, request.deadlines.headers_s, "response headers", request)
        due = math.inf if step.kind is StepKind.HOLD else start + step.at
        await self._wait(due, headers_by, request)
        return self._completion(step.payload, request)

    def stream(self, request: ProviderRequest) -> AsyncIterator[StreamChunk]:
        """Chunks as they are due (see the module docstring for errors and deadlines)."""
        return self._stream(request)

    async def health(self) -> ProviderHealth:
        return ProviderHealth(name=self.name, status="ok", detail="in-process simulator")

    async def close(self) -> None:
        return None

    # ------------------------------------------------------------------ playing a timeline

    async def _stream(self, request: ProviderRequest) -> AsyncIterator[StreamChunk]:
        body = request.body if request.stream else {**request.body, "stream": True}
        timeline, start = self._attempt(request, body)
        limits = request.deadlines
        headers_by = self._deadline(start, limits.headers_s, "response headers", request)
        first_by = self._deadline(start, limits.first_token_s, "the first token", request)
        got_token = started = last_malformed = False
        for step in timeline.steps:
            kind, due = step.kind, start + step.at
            if kind is StepKind.CLOSE and not started:  # a hang-up before any response byte
                raise self._error(ProviderDisconnected, _HUNG_UP, request)
            if kind in (StepKind.HOLD, StepKind.RESPONSE, StepKind.HEADERS):
                await self._wait(math.inf if kind is StepKind.HOLD else due, headers_by, request)
                if kind is StepKind.RESPONSE:
                    raise self._mapped(step.payload, request)
                started = True
                continue
            if kind is StepKind.COMMENT:
                continue
            stall_by = self._deadline(self._clock(), limits.stall_s, "the next chunk", request)
            await self._wait(due, stall_by if got_token else first_by, request)
            if kind is StepKind.EVENT:
                last_malformed = False
                assert timeline.meta is not None
                for event in step.payload:
                    chunk = self._chunk(event_dict(timeline.meta, event), request)
                    got_token = got_token or chunk.has_payload
                    yield chunk
            elif kind is StepKind.RAW:
                last_malformed = True  # skipped, like the HTTP provider skips a bad chunk
            elif kind is StepKind.RESET:
                if started:
                    raise self._error(ProviderStreamError, "stream cut before [DONE]", request)
                raise self._error(ProviderDisconnected, _HUNG_UP, request)
            elif last_malformed:
                raise self._error(ProviderStreamError, "stream ended after a bad chunk", request)
            else:  # DONE, or the end of the body without it
                return

    def _completion(self, reply: Reply, request: ProviderRequest) -> ProviderResponse:
        """The ProviderResponse of a complete answer, or its error."""
        if reply.status >= 300:
            raise self._mapped(reply, request)
        if reply.cut:
            raise self._error(ProviderConnectionError, "response body incomplete", request)
        body = reply.body
        if not isinstance(body, dict):
            raise self._error(ProviderUnavailable, "unreadable completion", request, status=200)
        if body.get("error"):
            raise self._mapped(Reply(200, body), request)
        finish = body["choices"][0].get("finish_reason")
        if is_content_filter_finish(finish):
            raise self._error(ContentFiltered, "output withheld by a content filter", request)
        if finish == "error":
            raise self._error(ProviderUnavailable, "finished with an error", request, status=200)
        usage = Usage.from_openai(body.get("usage"))
        return ProviderResponse(body=body, usage=usage, status=200, request_id=body.get("id"))

    def _chunk(self, payload: dict[str, Any], request: ProviderRequest) -> StreamChunk:
        choices = payload.get("choices") or ()
        choice = choices[0] if choices else {}
        finish = choice.get("finish_reason")
        if payload.get("error") or finish in ("error", "content_filter"):
            error = stream_error_from_event(
                payload, model=_provider_model(request), provider=self.name
            )
            error.model = request.policy.logical_id
            raise error
        delta = choice.get("delta") or {}
        usage = Usage.from_openai(payload.get("usage"))
        return StreamChunk(payload, delta.get("content") or "", finish, usage)

    # ------------------------------------------------------------------ helpers

    def _attempt(self, request: ProviderRequest, body: Mapping[str, Any]) -> tuple[Timeline, float]:
        headers = {name.lower(): value for name, value in request.extra_headers.items()}
        client = ClientInfo(
            http_referer=headers.get("http-referer"), x_title=headers.get("x-title"), path="-"
        )
        timeline = self.simulation.attempt(body, client, self._policy_spec(request.policy))
        return timeline, self._clock()

    def _policy_spec(self, policy: ModelPolicy) -> ModelSpec:
        spec = self._specs.get(policy)
        if spec is None:
            spec = self._specs[policy] = policy_spec(policy)
        return spec

    def _deadline(
        self, since: float, seconds: float | None, waiting_for: str, request: ProviderRequest
    ) -> Deadline:
        limit = seconds if seconds is not None else math.inf
        message = f"no {waiting_for} within {seconds} s"
        return Deadline.within(since, limit, request.deadline_at, message, waiting_for)

    async def _wait(self, due: float, deadline: Deadline, request: ProviderRequest) -> None:
        """Sleep until ``due``; if the deadline comes first, sleep until it and time out."""
        now = self._clock()
        if due > deadline.at:
            await self._sleep(max(0.0, deadline.at - now))
            raise self._error(ProviderTimeout, deadline.message, request)
        if due > now:
            await self._sleep(due - now)

    def _mapped(self, reply: Reply, request: ProviderRequest) -> ProviderError:
        body = reply.body if isinstance(reply.body, dict) else {}
        error = error_from_payload(
            body,
            status=reply.status,
            headers=dict(reply.headers),
            model=_provider_model(request),
            provider=self.name,
        )
        error.model = request.policy.logical_id
        return error

    def _error(
        self,
        cls: type[ProviderError],
        message: str,
        request: ProviderRequest,
        status: int | None = None,
    ) -> ProviderError:
        text = f"{self.name}: {message} (model {_provider_model(request)})"
        return cls(
            text, model=request.policy.logical_id, provider=self.name, upstream_status=status
        )


def _provider_model(request: ProviderRequest) -> str:
    model = request.body.get("model")
    return model if isinstance(model, str) else request.policy.provider_model_id
