"""The scorecard's cells: one upstream failure class each, with the best outcome it allows.

A cell names the faults the simulator injects on the primary model (one cell also makes the
fallback refuse assistant prefills), its request mode (non-streaming or streaming) and an
:class:`Expect`: what the caller must get and how many attempts each model may see. The
expectation is the best possible outcome for that failure, not what the gateway happens to do;
:mod:`llm_gateway.faults.scoring` judges an observation against it.

Every cell goes to the logical model ``gemini-2.5-pro`` of the shipped catalogue, whose chain is
``gemini-2.5-pro → claude-sonnet → gpt-4o``. Waits come from a :class:`Pace`: short in the quick
form (run by ``make test``), realistic (the gateway's default deadlines) in the full form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PRIMARY = "gemini-2.5-pro"
FALLBACK = "claude-sonnet"
PROVIDER_MODELS = {
    PRIMARY: "google/gemini-2.0-flash-exp",
    FALLBACK: "anthropic/claude-3.5-sonnet-20241022",
    "gpt-4o": "openai/gpt-4o",
}
MESSAGES: list[dict[str, Any]] = [
    {"role": "user", "content": "Explain circuit breakers in one paragraph."}
]
# Every request says how long an answer it wants, as callers normally do: a non-streamed
# attempt's headers deadline then allows for generating that many tokens (at 40 tokens/s).
MAX_TOKENS = 64


@dataclass(frozen=True, slots=True)
class Pace:
    """The waits of one form of the scorecard (gateway settings and fault durations)."""

    name: str
    headers_timeout_s: float  # GATEWAY_HEADERS_TIMEOUT (and first token, stall)
    retry_delay_s: float  # GATEWAY_RETRY_DELAY
    total_timeout_s: float  # GATEWAY_TOTAL_TIMEOUT
    retry_after_s: float  # what a 429 asks for
    ttft_s: float  # the simulator's models
    tokens_per_s: float
    outage_s: float  # primary down, then back
    traffic_interval_s: float  # one request every ... during the outage cell
    recovery_bound_s: float  # the primary must answer again within this after it is back
    circuit_threshold: int = 5  # GATEWAY_CIRCUIT_FAILURE_THRESHOLD (the default)
    circuit_cooldown_s: float = 1.0  # GATEWAY_CIRCUIT_COOLDOWN_S (the default)

    @property
    def beyond_deadline_s(self) -> float:
        """A delay past every per-attempt deadline (slow first token, stall), the non-streamed
        headers deadline with its allowance for generating MAX_TOKENS included."""
        return self.headers_timeout_s * 2 + MAX_TOKENS / 40 + 1.0

    @property
    def caller_timeout_s(self) -> float:
        """After this the caller counts the request as hung."""
        return self.total_timeout_s + 5.0


QUICK = Pace(
    name="quick",
    headers_timeout_s=1.0,  # short, yet far above a loaded 2-core machine's loopback answers
    retry_delay_s=0.1,
    total_timeout_s=15.0,
    retry_after_s=0.4,
    ttft_s=0.02,
    tokens_per_s=400.0,
    outage_s=5.0,
    traffic_interval_s=0.4,
    recovery_bound_s=8.0,  # the 5 s cool-down cap plus slack for a loaded machine
)
FULL = Pace(
    name="full",
    headers_timeout_s=10.0,
    retry_delay_s=1.0,
    total_timeout_s=120.0,
    retry_after_s=2.0,
    ttft_s=0.3,
    tokens_per_s=60.0,
    outage_s=60.0,
    traffic_interval_s=4.0,
    recovery_bound_s=10.0,
)


@dataclass(frozen=True, slots=True)
class Expect:
    """The best outcome: ``caller`` is ``"answer"`` (200 with the complete answer) or
    ``"error"`` (a clear error: ``status`` and ``code`` when given, in-band only if
    ``in_band_ok``); attempts as ``(min, max)`` per logical model, any model not listed 0;
    ``min_gap_s`` between the primary's attempts; ``primary_unharmed``: the request left the
    primary's health untouched (no failure counted against it)."""

    caller: str
    attempts: dict[str, tuple[int, int]]
    status: int | None = None
    code: str | None = None
    min_gap_s: float = 0.0
    primary_unharmed: bool = False


@dataclass(frozen=True, slots=True)
class Cell:
    """One failure class in one request mode."""

    key: str
    title: str
    stream: bool
    best: str
    faults: dict[str, list[dict[str, Any]]]  # logical model → simulator faults
    expect: Expect
    rejects_prefill: tuple[str, ...] = ()  # logical models that refuse an assistant prefill
    extra: dict[str, Any] = field(default_factory=lambda: {"max_tokens": MAX_TOKENS})

    @property
    def mode(self) -> str:
        return "stream" if self.stream else "non-stream"


def _answer(primary: tuple[int, int], fallback: tuple[int, int] = (0, 0), **more: Any) -> Expect:
    attempts = {PRIMARY: primary}
    if fallback != (0, 0):
        attempts[FALLBACK] = fallback
    return Expect("answer", attempts, **more)


def _both(
    key: str, title: str, best: str, faults: list[dict[str, Any]], expect: Expect
) -> list[Cell]:
    return [Cell(key, title, stream, best, {PRIMARY: faults}, expect) for stream in (False, True)]


def _each(
    key: str,
    title: str,
    faults: list[dict[str, Any]],
    non_stream: tuple[str, Expect],
    stream: tuple[str, Expect],
) -> list[Cell]:
    """A failure class whose best outcome differs between the modes."""
    return [
        Cell(key, title, False, non_stream[0], {PRIMARY: faults}, non_stream[1]),
        Cell(key, title, True, stream[0], {PRIMARY: faults}, stream[1]),
    ]


def cells(pace: Pace) -> list[Cell]:
    """Every cell but the outage (see :mod:`llm_gateway.faults.outage`), in scorecard order."""
    wait = pace.retry_after_s
    late = pace.beyond_deadline_s
    rate_limited = {"kind": "error", "status": 429}
    out: list[Cell] = []
    out += _both(
        "429-retry-after-once",
        "429 with Retry-After, once",
        f"primary retried after the {wait:g} s asked, caller 200",
        [{**rate_limited, "retry_after": wait, "times": 1}],
        _answer((2, 2), min_gap_s=wait),
    )
    out += _both(
        "429-retry-after-persistent",
        "429 with Retry-After, persistent",
        "at most 2 primary attempts (the retry after the delay), then the fallback, caller 200",
        [{**rate_limited, "retry_after": wait}],
        _answer((1, 2), (1, 1), min_gap_s=wait),
    )
    out += _both(
        "429-once",
        "429 without Retry-After, once",
        "primary retried after a short backoff, caller 200",
        [{**rate_limited, "times": 1}],
        _answer((2, 2)),
    )
    out += _both(
        "429-persistent",
        "429 without Retry-After, persistent",
        "at most 2 primary attempts, then the fallback, caller 200",
        [rate_limited],
        _answer((1, 2), (1, 1)),
    )
    out += _both(
        "500-once",
        "500 once",
        "primary retried once, caller 200",
        [{"kind": "error", "status": 500, "times": 1}],
        _answer((2, 2)),
    )
    out += _both(
        "503-persistent",
        "503 persistent",
        "at most 2 primary attempts, then the fallback, caller 200",
        [{"kind": "error", "status": 503}],
        _answer((1, 2), (1, 1)),
    )
    out += _both(
        "reset-before-headers",
        "reset before headers",
        "at most 2 primary attempts, then the fallback, caller 200",
        [{"kind": "connection_reset"}],
        _answer((1, 2), (1, 1)),
    )
    out += _both(
        "no-response",
        "no response (timeout)",
        "primary abandoned at its deadline once, the fallback answers, caller 200",
        [{"kind": "no_response", "hold_s": pace.total_timeout_s * 2}],
        _answer((1, 1), (1, 1)),
    )
    out += _both(
        "hang-up",
        "hang-up without a response",
        "at most 2 primary attempts, then the fallback, caller 200",
        [{"kind": "hang_up"}],
        _answer((1, 2), (1, 1)),
    )
    out += _both(
        "slow-first-token",
        "slow first token",
        "primary abandoned once at its first-token deadline (non-stream: the headers deadline with "
        "its generation allowance), the fallback answers, caller 200",
        [{"kind": "slow_first_token", "delay_s": late}],
        _answer((1, 1), (1, 1)),
    )
    out += _each(
        "cut-mid-stream",
        "cut mid-stream",
        [{"kind": "stream_cut", "after_tokens": 5}],
        (
            "the cut body retried on the primary at most once, else the fallback, caller 200",
            _answer((1, 2), (0, 1)),
        ),
        (
            "continued on the fallback from the text already sent, one attempt each, caller 200 "
            "with the complete answer",
            _answer((1, 1), (1, 1)),
        ),
    )
    out += _both(
        "stall-mid-stream",
        "stall mid-stream",
        "primary abandoned at the stall deadline, the answer completed on the fallback, caller 200",
        [{"kind": "stream_stall", "after_tokens": 5, "stall_s": late}],
        _answer((1, 1), (1, 1)),
    )
    out += _each(
        "malformed-chunk",
        "malformed chunk",
        [{"kind": "malformed_chunk", "after_tokens": 5}],
        (
            "a truncated JSON body: retried on the primary at most once, else the fallback, "
            "caller 200",
            _answer((1, 2), (0, 1)),
        ),
        (
            "the bad line skipped, the complete answer from the primary in one attempt, caller 200",
            _answer((1, 1)),
        ),
    )
    out += _both(
        "no-done",
        "no [DONE]",
        "the complete answer from the primary in one attempt, caller 200",
        [{"kind": "missing_done"}],
        _answer((1, 1)),
    )
    out += _both(
        "context-length",
        "context length exceeded",
        "no retry: the larger-context fallback answers, caller 200, the primary's health untouched",
        [{"kind": "context_length"}],
        _answer((1, 1), (1, 1), primary_unharmed=True),
    )
    out += _both(
        "content-filter",
        "content filter",
        "surfaced at once as a content_filter error, no retry, no fallback, the model's "
        "health untouched",
        [{"kind": "content_filter"}],
        Expect(
            "error", {PRIMARY: (1, 1)}, status=400, code="content_filter", primary_unharmed=True
        ),
    )
    out.append(
        Cell(
            "prefill-rejected",
            "fallback rejecting assistant prefill",
            True,
            "cut on the primary, the fallback refuses the prefill: the answer is still completed "
            "(without prefill) and nothing truncated is presented as success, caller 200",
            {PRIMARY: [{"kind": "stream_cut", "after_tokens": 5}]},
            Expect("answer", {PRIMARY: (1, 1), FALLBACK: (1, 2), "gpt-4o": (0, 1)}),
            rejects_prefill=(FALLBACK,),
        )
    )
    out += _both(
        "request-shaped-4xx",
        "request-shaped 4xx",
        "surfaced at once as a 400 naming the problem, no retry, no fallback, model health "
        "untouched",
        [
            {
                "kind": "error",
                "status": 400,
                "message": "Invalid value for 'messages[0].content': expected a string",
            }
        ],
        Expect("error", {PRIMARY: (1, 1)}, status=400, primary_unharmed=True),
    )
    return out
