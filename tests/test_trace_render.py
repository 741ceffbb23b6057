"""The stored form of a trace (:func:`render_trace_json`) is the admin API's form
(:func:`render_trace`) as JSON, with every registered secret masked — in any string, in any
case, cut short, or JSON-escaped."""

from __future__ import annotations

import json
from decimal import Decimal

from llm_gateway.cost import CostBreakdown
from llm_gateway.errors import ProviderUnavailable
from llm_gateway.providers.base import Usage
from llm_gateway.redaction import MASK, register_secret
from llm_gateway.tracing import render_trace, render_trace_json

PLAIN = "sk-or-v1-trace-render-0123456789abcdef"
QUOTED = 'pa"ss\\word-with-quote-1234'


def _trace(secret_text: str) -> dict[str, object]:
    cost = CostBreakdown(
        Decimal("0.000123"),
        Decimal("0.0001"),
        Decimal(0),
        Decimal("0.000023"),
        Decimal(0),
        "policy",
    )
    return {
        "trace_id": "t-1",
        "ok": False,
        "selection_reasons": ("cheapest eligible", "fits context"),
        "attempts": [{"model": "a/b", "error": f"upstream said {secret_text}", "n": 1}],
        "usage": Usage(prompt_tokens=10, completion_tokens=3, total_tokens=13),
        "cost": cost,
        "error": ProviderUnavailable(f"503 from upstream: {secret_text}"),
        "price": Decimal("1.5"),
        "prompt": [{"role": "user", "content": f"my key is {secret_text.upper()}"}],
        "timestamp": 1700000000.5,
    }


def test_the_stored_form_is_the_admin_form_as_json() -> None:
    trace = _trace("nothing secret here")
    assert json.loads(render_trace_json(trace)) == json.loads(json.dumps(render_trace(trace)))


def test_every_secret_is_masked_whole_in_any_case_cut_short_or_escaped() -> None:
    register_secret(PLAIN)
    register_secret(QUOTED)
    for text in (PLAIN, PLAIN[:12], QUOTED):
        stored = render_trace_json(_trace(text))
        document = json.loads(stored)  # still valid JSON
        assert PLAIN[:12].lower() not in stored.lower()
        assert 'pa\\"ss' not in stored and "ss\\\\word" not in stored
        assert MASK in document["attempts"][0]["error"]
        assert MASK in document["prompt"][0]["content"]
        assert MASK in json.dumps(document["error"])
