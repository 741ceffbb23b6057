"""Every HTTP error in one JSON shape: ``{"error": {"type", "message", "param"?, "code"?}}``.

The OpenAI-compatible shape is rendered from :class:`~llm_gateway.errors.GatewayError` (each class
knows its status and type), from FastAPI's request validation errors (422, or 400 for a body that
is not JSON, naming the offending field in ``param``), from Starlette's ``HTTPException`` (404,
405, ...) and, as a last resort, from any other exception (500 with a fixed message: the
exception is logged server-side, never its text or stack in the response).

``install_error_handlers(app)`` registers all of them on an application; the route classes in
:mod:`llm_gateway.routes.route_classes` use the same renderers so the routers keep this shape when
a host application includes them without installing the handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from llm_gateway.errors import GatewayError, RateLimited, echo

logger = logging.getLogger("llm_gateway.http")

JSON = "application/json"

_TYPE_FOR_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    406: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
}


def error_body(
    error_type: str,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The error object, without ``None`` fields."""
    error: dict[str, Any] = {"type": error_type, "message": message}
    if param is not None:
        error["param"] = param
    if code is not None:
        error["code"] = code
    error.update(extra)
    return {"error": error}


def json_error(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type=JSON)


def gateway_error_response(exc: GatewayError) -> Response:
    """The response for a GatewayError: its status, its ``to_dict()``, Retry-After when known."""
    headers = None
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int | float) and retry_after > 0:
        headers = {"Retry-After": str(max(1, round(retry_after)))}
    elif isinstance(exc, RateLimited):
        headers = {"Retry-After": "1"}
    if exc.status_code >= 500:
        logger.warning("request failed: %s %s", type(exc).__name__, exc.message)
    return json_error(exc.status_code, exc.to_dict(), headers)


def validation_error_response(exc: RequestValidationError) -> Response:
    """422 naming the first invalid field (all of them under ``errors``); 400 for broken JSON."""
    errors = [_describe(e) for e in exc.errors()]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        body = error_body(
            "invalid_request_error",
            "request body is not valid JSON",
            param="body",
            code="invalid_json",
        )
        return json_error(400, body)
    first = errors[0] if errors else {"param": None, "message": "invalid request"}
    message = "; ".join(
        f"{e['param']}: {e['message']}" if e["param"] else e["message"] for e in errors
    )
    body = error_body(
        "invalid_request_error",
        message or "invalid request",
        param=first["param"],
        code="validation_error",
        errors=errors,
    )
    return json_error(422, body)


def http_exception_response(exc: HTTPException) -> Response:
    status = exc.status_code
    error_type = _TYPE_FOR_STATUS.get(
        status, "invalid_request_error" if status < 500 else "api_error"
    )
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    headers = dict(exc.headers) if exc.headers else None
    return json_error(status, error_body(error_type, message), headers)


def internal_error_response() -> Response:
    body = error_body("api_error", "internal error; the request id identifies it in the logs")
    return json_error(500, body)


def _describe(error: Mapping[str, Any]) -> dict[str, Any]:
    """One pydantic error as ``{"param", "message"}``; the input value is never echoed, and a
    path made of the caller's keys is cut like every other echo (``errors.echo``)."""
    loc = _field_path(error.get("loc") or ())
    return {"param": echo(loc) if loc else None, "message": str(error.get("msg", "invalid value"))}


def _field_path(loc: Sequence[Any]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


async def _on_gateway_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return gateway_error_response(exc)


async def _on_validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return validation_error_response(exc)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        # Starlette names the methods of the first route whose path matched; several routes
        # can share a path shape (POST /policies/reload and PUT /policies/{node}).
        methods = _methods_for(request)
        if methods:
            exc = HTTPException(405, exc.detail, headers={"Allow": ", ".join(methods)})
    elif exc.status_code == 404 and _slash_too_many(request):
        exc = HTTPException(404, "Not Found (this path has a trailing slash; drop it)")
    return http_exception_response(exc)


def _slash_too_many(request: Request) -> bool:
    path = request.url.path
    return len(path) > 1 and path.endswith("/") and bool(_methods_for(request, path.rstrip("/")))


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _methods_for(request: Request, path: str | None = None) -> list[str]:
    """Every method some route of the app answers for ``path`` (the request's by default),
    asked of the routes themselves (included routers nest theirs)."""
    scope = {**request.scope, "path": path if path is not None else request.url.path}
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in routes)
    ]


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    # Logged with its stack for the operator; the client sees a fixed message only.
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return internal_error_response()


def install_error_handlers(app: FastAPI) -> None:
    """Render every error of ``app`` in the gateway's JSON shape."""
    app.add_exception_handler(GatewayError, _on_gateway_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)
