"""Sums of request shapes (see :class:`~llm_gateway.metrics.recording.Shape`) over some of
their labels, made at scrape time: the request path updates one record per request, every
per-request family is one of these folds."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from llm_gateway.metrics.histogram import Histogram

# Positions in a shape key.
NODE, PRIMARY, MODEL, PROVIDER, STATUS, ERROR_TYPE, ANSWERED = range(7)

Key = tuple[Any, ...]


def fold_histograms(
    shapes: Mapping[Key, Any], attribute: str, labels: Callable[[Key], Key | None]
) -> dict[Key, Histogram]:
    """``shape.<attribute>`` histograms added up by ``labels(key)`` (None: left out); empty
    histograms are left out, so a family shows only label sets something was observed for."""
    out: dict[Key, Histogram] = {}
    for key, shape in list(shapes.items()):
        histogram: Histogram = getattr(shape, attribute)
        label = labels(key)
        if label is None or not any(histogram.counts):
            continue
        folded = out.get(label)
        if folded is None:
            folded = out[label] = Histogram(histogram.bounds)
        folded.add(histogram)
    return out


def fold_values(
    shapes: Mapping[Key, Any], value: Callable[[Any], float], labels: Callable[[Key], Key | None]
) -> dict[Key, float]:
    """``value(shape)`` added up by ``labels(key)`` (None: left out)."""
    out: dict[Key, float] = {}
    for key, shape in list(shapes.items()):
        label = labels(key)
        if label is not None:
            out[label] = out.get(label, 0) + value(shape)
    return out


def requests(shape: Any) -> int:
    """Requests of the shape: those timed (the duration histogram's count) and those not."""
    return sum(shape.duration.counts) + shape.untimed
