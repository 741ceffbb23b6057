"""Route classes that keep the gateway's error shape wherever a router is included.

A host application may include our routers without our exception handlers; these classes render
:class:`~llm_gateway.errors.GatewayError` and request validation errors themselves, so the
``{"error": {...}}`` shape and statuses do not depend on the host.

:class:`RawRoute` is for the hot path: the endpoint is called with the bare ``Request`` (no
dependency solving, no body parsing by FastAPI); the route still appears in the OpenAPI schema
with whatever ``openapi_extra`` and ``responses`` describe.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from llm_gateway.errors import GatewayError
from llm_gateway.http_errors import gateway_error_response, validation_error_response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _client_gone() -> Response:
    """What a handler returns once its client has left: nothing reaches anyone (nginx's 499)."""
    return Response(status_code=499)


class GatewayRoute(APIRoute):
    """An APIRoute whose errors are rendered in the gateway's shape."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except GatewayError as exc:
                return gateway_error_response(exc)
            except ClientDisconnect:
                return _client_gone()
            except RequestValidationError as exc:
                return validation_error_response(exc)
            except HTTPException as exc:
                # FastAPI turns a failure while reading the body into a 400; keep our 413.
                if isinstance(exc.__cause__, GatewayError):
                    return gateway_error_response(exc.__cause__)
                raise

        return handle


class RawRoute(APIRoute):
    """An APIRoute that calls ``endpoint(request)`` directly: the lean path for hot endpoints.

    Nothing FastAPI would inject runs: the endpoint reads the request itself. Route-level
    ``dependencies`` (e.g. a security scheme) therefore only document the route in OpenAPI; the
    endpoint must perform the corresponding checks.
    """

    def get_route_handler(self) -> Handler:
        endpoint = self.endpoint

        async def handle(request: Request) -> Response:
            try:
                response: Response = await endpoint(request)
            except GatewayError as exc:
                return gateway_error_response(exc)
            except ClientDisconnect:
                return _client_gone()
            return response

        return handle
