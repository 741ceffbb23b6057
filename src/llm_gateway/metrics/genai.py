"""The OpenTelemetry GenAI semantic conventions' metrics, in their Prometheus form.

An OTel metric's Prometheus name is its name with dots as underscores and the unit as a suffix
(``gen_ai.client.operation.duration`` in ``s`` → ``gen_ai_client_operation_duration_seconds``;
``{token}`` adds none), its attributes the same way (``gen_ai.token.type`` →
``gen_ai_token_type``). The gateway is both a GenAI client (each attempt calls a provider) and
a GenAI server (to its callers):

- ``gen_ai_client_token_usage`` (histogram, tokens per request and type ``input``/``output``)
- ``gen_ai_client_operation_duration_seconds`` (histogram, one per provider call)
- ``gen_ai_server_request_duration_seconds`` (histogram, one per request)
- ``gen_ai_server_time_to_first_token_seconds`` (histogram, streams)

``gen_ai_request_model`` is the logical model the gateway selected first, ``gen_ai_response_model``
the one that answered (catalogue ids both; empty for a failed request), ``gen_ai_provider_name``
the policy's provider. Bucket boundaries are the conventions' advised ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.core import HistogramMetricFamily, Metric

from llm_gateway.metrics.histogram import Histogram
from llm_gateway.metrics.shapes import (
    ANSWERED,
    ERROR_TYPE,
    MODEL,
    PRIMARY,
    PROVIDER,
    Key,
    fold_histograms,
)

OPERATION = "chat"  # the only GenAI operation the gateway serves (Chat Completions)
_BASE = ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"]


def _models(key: Key) -> Key:
    return (key[PROVIDER], key[PRIMARY], key[MODEL] if key[ANSWERED] else "")


def genai_families(m: Any) -> Iterator[Metric]:
    shapes = m.shapes
    tokens = {
        (*labels, kind): histogram
        for kind in ("input", "output")
        for labels, histogram in fold_histograms(shapes, kind, _models).items()
    }
    yield _histogram(
        "gen_ai_client_token_usage",
        "Number of input and output tokens used (GenAI semantic conventions)",
        [*_BASE, "gen_ai_response_model", "gen_ai_token_type"],
        tokens,
    )
    yield _histogram(
        "gen_ai_client_operation_duration_seconds",
        "GenAI operation duration: one call to a provider (GenAI semantic conventions)",
        [*_BASE, "error_type"],
        m.attempt_duration,
    )
    yield _histogram(
        "gen_ai_server_request_duration_seconds",
        "GenAI server request duration, to the last byte (GenAI semantic conventions)",
        [*_BASE, "gen_ai_response_model", "error_type"],
        fold_histograms(shapes, "duration", lambda k: (*_models(k), k[ERROR_TYPE])),
    )
    yield _histogram(
        "gen_ai_server_time_to_first_token_seconds",
        "Time to generate the first token of a stream (GenAI semantic conventions)",
        [*_BASE, "gen_ai_response_model"],
        fold_histograms(shapes, "ttft", _models),
    )


def _histogram(
    name: str, text: str, labels: list[str], values: Mapping[Key, Histogram]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, text, labels=labels)
    for key, histogram in list(values.items()):
        family.add_metric([OPERATION, *key], histogram.buckets(), histogram.total)
    return family
