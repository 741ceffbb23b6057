"""A pure-ASGI shortcut to the hot endpoints, bypassing FastAPI's router and middleware stack.

FastAPI's routing (matching over every route, exit stacks, exception and telemetry wrappers)
costs about as much per request as the gateway core itself. :class:`FastPath` looks the request's
``(method, path)`` up in a dict and calls the endpoint ``endpoint(request) -> Response``
directly. The same endpoints stay registered on the FastAPI router (OpenAPI schema, host
applications), and errors are rendered by the same functions, so the response does not depend on
the path taken.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from llm_gateway.errors import GatewayError
from llm_gateway.http_errors import gateway_error_response, internal_error_response

logger = logging.getLogger("llm_gateway.http")

Endpoint = Callable[[Request], Awaitable[Response]]


class FastPath:
    """An ASGI app serving exactly ``routes``: ``(method, path)`` → endpoint(bare Request)."""

    def __init__(self, routes: Mapping[tuple[str, str], Endpoint]) -> None:
        self.routes = dict(routes)

    def serves(self, scope: Scope) -> bool:
        return scope["type"] == "http" and (scope["method"], scope["path"]) in self.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.routes[(scope["method"], scope["path"])]
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except GatewayError as exc:
            response = gateway_error_response(exc)
        except ClientDisconnect:
            return  # the client left while sending its body: nobody to answer
        except Exception:
            # Logged with its stack for the operator; the client sees a fixed message only.
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            response = internal_error_response()
        await response(scope, receive, send)
