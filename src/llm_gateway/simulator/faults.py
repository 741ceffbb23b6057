"""Fault injection: which fault hits an attempt, and the OpenRouter error each error fault sends.

Selection is stateful but deterministic: attempts are counted per model, each fault keeps how
many times it fired, and ``probability`` draws come from a RNG seeded by (scenario seed, model,
fault index), so one model's traffic never changes another model's draws.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llm_gateway.simulator.engine import ChatRequest, message_text
from llm_gateway.simulator.scenario import FaultSpec, ModelProfile, Scenario
from llm_gateway.simulator.wire import Reply, error_body

ERROR_KINDS = frozenset(
    {"error", "context_length", "moderation", "content_filter", "down", "reject_prefill"}
)

DEFAULT_MESSAGES = {
    400: "Bad request",
    401: "No auth credentials found",
    402: "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
    403: "Forbidden",
    404: "Not found",
    408: "Request timed out",
    429: "Rate limit exceeded",
    500: "Internal Server Error",
    502: "Provider returned error",
    503: "No available model provider that meets your routing requirements",
    504: "Gateway timeout",
}


_CONTENT_FILTER_RAW = json.dumps(
    {"error": {"code": "content_filter", "message": "The prompt triggered the content filter."}}
)


@dataclass(slots=True)
class _FaultState:
    rng: random.Random
    applied: int = 0
    down_until: float | None = None


class FaultInjector:
    """Decides, attempt by attempt, which of a model's faults applies (first match wins).

    Not thread-safe: the server uses it from its event loop, a provider from its own.
    """

    def __init__(self, scenario: Scenario, clock: Callable[[], float] = time.monotonic) -> None:
        self._seed = scenario.seed
        self._clock = clock
        self._attempts: dict[str, int] = {}
        self._states: dict[tuple[str, int], _FaultState] = {}

    def next_attempt(self, model: str) -> int:
        """Count one more attempt on ``model`` and return its number (1-based)."""
        number = self._attempts.get(model, 0) + 1
        self._attempts[model] = number
        return number

    def pick(self, profile: ModelProfile, request: ChatRequest, attempt: int) -> FaultSpec | None:
        """The fault for attempt number ``attempt`` of ``profile``'s model, or None."""
        for index, fault in enumerate(profile.faults):
            if self._fires(profile.id, index, fault, request, attempt):
                return fault
        return None

    def _fires(
        self, model: str, index: int, fault: FaultSpec, request: ChatRequest, attempt: int
    ) -> bool:
        if attempt <= fault.after_attempts:
            return False
        if fault.kind == "reject_prefill" and request.prefill is None:
            return False
        state = self._state(model, index)
        if fault.kind == "down":
            # The outage starts with the first eligible attempt and lasts duration_s.
            now = self._clock()
            if state.down_until is None:
                state.down_until = now + (fault.duration_s or 0.0)
            return now < state.down_until
        if fault.times is not None and state.applied >= fault.times:
            return False
        if fault.probability < 1.0 and state.rng.random() >= fault.probability:
            return False
        state.applied += 1
        return True

    def _state(self, model: str, index: int) -> _FaultState:
        state = self._states.get((model, index))
        if state is None:
            rng = random.Random(f"{self._seed}:{model}:{index}")
            state = self._states[(model, index)] = _FaultState(rng)
        return state


def error_reply(
    kind: str, fault: FaultSpec | None, request: ChatRequest, profile: ModelProfile
) -> Reply:
    """The HTTP error an error kind answers with (``fault`` is None for natural errors)."""
    if kind == "context_length":
        return _context_length(request, profile)
    if kind == "moderation":
        return _moderation(fault, request, profile)
    if kind == "content_filter":
        # OpenAI/Azure-style: a string code says what the status does not.
        message = "Provider returned error: the input was rejected by the content filter"
        raw = {"provider_name": profile.provider_name, "raw": _CONTENT_FILTER_RAW}
        return _reply(400, fault, message, raw, default_code="content_filter")
    if kind == "reject_prefill":
        message = (
            "This model does not support assistant message prefill. "
            "The conversation must end with a user message."
        )
        return _reply(400, fault, message, {"provider_name": profile.provider_name})
    if kind == "down":
        status = fault.status if fault is not None and fault.status else 503
        return _reply(status, fault, f"{profile.id} is temporarily unavailable", None)
    status = fault.status if fault is not None and fault.status else 500
    metadata = None if status in (401, 402, 408) else {"provider_name": profile.provider_name}
    return _reply(status, fault, DEFAULT_MESSAGES.get(status, "Provider returned error"), metadata)


def _reply(
    status: int,
    fault: FaultSpec | None,
    message: str,
    metadata: dict[str, Any] | None,
    default_code: int | str | None = None,
) -> Reply:
    headers: tuple[tuple[str, str], ...] = ()
    if fault is not None:
        message = fault.message or message
        if fault.metadata is not None:
            metadata = {**(metadata or {}), **fault.metadata}
        if fault.retry_after is not None:
            headers = (("Retry-After", _seconds(fault.retry_after)),)
    code = fault.code if fault is not None and fault.code is not None else default_code or status
    return Reply(status, error_body(code, message, metadata), headers)


def _context_length(request: ChatRequest, profile: ModelProfile) -> Reply:
    output = request.max_tokens or 0
    message = (
        f"This endpoint's maximum context length is {profile.context_length} tokens. "
        f"However, you requested about {request.prompt_tokens + output} tokens "
        f"({request.prompt_tokens} of text input, {output} in the output). "
        'Please reduce the length of either one, or use the "middle-out" transform to '
        "compress your prompt automatically."
    )
    return Reply(400, error_body(400, message, {"provider_name": None}))


def _moderation(fault: FaultSpec | None, request: ChatRequest, profile: ModelProfile) -> Reply:
    reasons = list(fault.reasons) if fault is not None else ["violence"]
    users = [m for m in request.conversation if m.get("role") == "user"] or request.conversation
    flagged = message_text(users[-1].get("content"))
    if len(flagged) > 100:
        flagged = flagged[:48] + "..." + flagged[-49:]
    message = (
        f"{profile.id} requires moderation on {profile.provider_name}. "
        f'Your input was flagged for "{", ".join(reasons)}".'
    )
    metadata: dict[str, Any] = {
        "reasons": reasons,
        "flagged_input": flagged,
        "provider_name": profile.provider_name,
        "model_slug": profile.id,
    }
    return _reply(403, fault, message, metadata)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
