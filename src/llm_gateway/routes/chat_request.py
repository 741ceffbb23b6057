"""Reading a chat request body by hand: orjson, and the one validator both chat entry points use.

The hot path does not build a pydantic model of the request: the body is parsed once with
orjson, checked by :func:`check_chat_request` (nesting depth, the OpenAI request shape and
parameter ranges, with a 400 naming the exact field), and the provider routing fields are
stripped or checked against the catalogue (:func:`apply_routing_policy`). Every other field passes
through to the provider untouched. ``/v1/chat/completions`` and ``/api/chat/...`` call the same
functions, so both refuse the same bodies the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from llm_gateway.errors import InvalidRequest, echo
from llm_gateway.request_params import check_openai_request
from llm_gateway.request_shape import ROLES, fail

if TYPE_CHECKING:
    from llm_gateway.gateway import LLMGateway

__all__ = [
    "ROLES",
    "ROUTING_FIELDS",
    "apply_routing_policy",
    "check_chat_request",
    "validate_chat_body",
]

ROUTING_FIELDS = ("models", "provider", "plugins", "route", "preset")
"""OpenRouter request fields that choose models or providers (or add paid plugins) on the
upstream's side, past the gateway's catalogue, node tiers and budgets."""


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a dict; 400 (param ``body``) when empty, not JSON or not an object."""
    if not raw:
        raise InvalidRequest("the request body is empty; expected a JSON object", param="body")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(
            f"the request body is not valid JSON ({echo(str(exc))})",
            param="body",
            code="invalid_json",
        ) from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object", param="body")
    return body


def validate_chat_body(body: dict[str, Any], gateway: LLMGateway) -> None:
    """What both chat entry points do with a parsed body before routing it: the shape checks,
    then the routing fields per ``GATEWAY_ALLOW_PROVIDER_ROUTING_FIELDS`` (in place)."""
    check_chat_request(body)
    registry = gateway.registry
    apply_routing_policy(
        body,
        allow=gateway.settings.GATEWAY_ALLOW_PROVIDER_ROUTING_FIELDS,
        is_catalogued=lambda model: registry.find_by_provider_model_id(model) is not None,
    )


def check_chat_request(body: dict[str, Any]) -> None:
    """400 naming the first field no OpenAI-compatible upstream could process (see
    :func:`~llm_gateway.request_params.check_openai_request`)."""
    check_openai_request(body)


def apply_routing_policy(
    body: dict[str, Any], *, allow: bool, is_catalogued: Callable[[str], bool]
) -> None:
    """Strip the :data:`ROUTING_FIELDS` from ``body`` (in place) unless ``allow``; when allowed,
    400 for a ``models`` entry that is not a provider model id of the catalogue
    (``is_catalogued``), so a caller cannot name a model the operator did not configure."""
    if not allow:
        for name in ROUTING_FIELDS:
            body.pop(name, None)
        return
    models = body.get("models")
    if models is None:
        return
    if not isinstance(models, list):
        raise fail("models", "must be an array of provider model ids")
    for index, model in enumerate(models):
        if not isinstance(model, str) or not is_catalogued(model):
            raise fail(
                f"models[{index}]",
                f"'{echo(model)}' is not a provider model id of the catalogue",
            )
