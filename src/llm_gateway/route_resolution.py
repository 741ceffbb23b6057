"""The ``model`` field and the routing headers → a :class:`Route`, bounded by construction."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from llm_gateway.cache.directive import CacheDirective
from llm_gateway.config.catalog import DEFAULT_NODE
from llm_gateway.errors import NotFound, echo
from llm_gateway.exchange import Route
from llm_gateway.ledger_rows import refused_row
from llm_gateway.request_info import parse_strategy

if TYPE_CHECKING:
    from llm_gateway.gateway import LLMGateway

MAX_NODE_NAME = 128


def resolve_route(
    gateway: LLMGateway,
    model_field: str | None,
    *,
    node: str | None = None,
    strategy: str | None = None,
    trace_id: str | None = None,
    user_id: str | None = None,
    api_key_id: str | None = None,
    cache: CacheDirective | None = None,
    traceparent: str | None = None,
    arm: str | None = None,
) -> Route:
    """Map the ``model`` field and headers to a Route.

    ``model`` is a logical model id, a node name, ``auto``, or a provider's model id from the
    catalogue (``anthropic/claude-3.5-sonnet-20241022``), so code written against OpenRouter
    works unchanged: it names the logical model with that id (the first in file order).
    """
    requested: str | None = None
    node_name = node or DEFAULT_NODE
    if model_field and model_field != "auto":
        if gateway.registry.find_policy(model_field) is not None:
            requested = model_field
        elif node is None and gateway.registry.get_node(model_field) is not None:
            node_name = model_field
        elif (named := gateway.registry.find_by_provider_model_id(model_field)) is not None:
            requested = named.logical_id
        else:
            error = NotFound(
                f"unknown model '{echo(model_field)}': not a model id, a node name, 'auto' "
                "or a provider model id of the catalogue (GET /v1/models lists them)",
                param="model",
                code="model_not_found",
            )
            label = gateway.registry.catalog.node_label(node_name)
            gateway.metrics.observe_refused(label, error)
            if gateway.records is not None:
                refused = Route(node_name=label, node_label=label, trace_id=trace_id)
                gateway._write_row(
                    refused_row(
                        refused,
                        error,
                        stream=False,
                        started_at=time.monotonic(),
                        trace_id=trace_id,
                    )
                )
            raise error
    catalog = gateway.registry.catalog
    label = catalog.node_label(node_name)
    served = node_name if label != DEFAULT_NODE or node_name == DEFAULT_NODE else DEFAULT_NODE
    return Route(
        node_name=served if len(served) <= MAX_NODE_NAME else label,
        node_label=label,
        caller_node=None if served == node_name else node_name[:MAX_NODE_NAME],
        strategy=parse_strategy(strategy),
        trace_id=trace_id,
        user_id=user_id,
        api_key_id=api_key_id,
        requested_model=requested,
        cache=cache,
        traceparent=traceparent if gateway.otel is not None else None,
        arm=arm,
    )
