"""How handlers reach the gateway and the HTTP services (auth, audit) of the app serving them.

``create_app`` stores them on ``app.state``; a host application that only includes our routers
has none there, and then the process's gateway (``get_llm_gateway()``) and services built once
from the process settings are used. A generated admin token in that case is unknown to anyone,
so the admin API stays closed until ``GATEWAY_ADMIN_TOKEN`` is set (a warning says so).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from llm_gateway.audit import AuditLog
from llm_gateway.auth import AdminAuth, ClientKeys
from llm_gateway.auth_throttle import FailedAuthThrottle, credential_key
from llm_gateway.errors import AuthenticationFailed, PermissionDenied
from llm_gateway.gateway import LLMGateway, get_llm_gateway
from llm_gateway.middleware.trace_context import choose_trace_id
from llm_gateway.settings import Settings, get_settings

logger = logging.getLogger("llm_gateway.http")

_ACTOR = re.compile(r"[^A-Za-z0-9_.@:\- ]")


@dataclass(frozen=True, slots=True)
class HttpServices:
    """What the HTTP layer needs beside the gateway."""

    settings: Settings
    admin_auth: AdminAuth
    client_keys: ClientKeys
    audit: AuditLog
    auth_throttle: FailedAuthThrottle

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpServices:
        return cls(
            settings=settings,
            admin_auth=AdminAuth.from_settings(settings),
            client_keys=ClientKeys.from_settings(settings),
            audit=AuditLog(settings.GATEWAY_AUDIT_LOG_FILE),
            auth_throttle=FailedAuthThrottle(),
        )


@dataclass(frozen=True, slots=True)
class AdminCaller:
    """Who made an admin call: a label for the audit log (never a credential)."""

    actor: str
    client: str | None


def gateway_of(request: Request) -> LLMGateway:
    gateway: LLMGateway | None = getattr(request.app.state, "llm_gateway", None)
    return gateway if gateway is not None else get_llm_gateway()


def services_of(request: Request) -> HttpServices:
    services: HttpServices | None = getattr(request.app.state, "gateway_services", None)
    return services if services is not None else _process_services()


@lru_cache(maxsize=1)
def _process_services() -> HttpServices:
    services = HttpServices.from_settings(get_settings())
    if services.admin_auth.generated:
        logger.warning(
            "GATEWAY_ADMIN_TOKEN is not set: the admin API refuses every call until it is"
        )
    return services


def reset_process_services() -> None:
    """Forget the services built from the process settings (tests that change them)."""
    _process_services.cache_clear()


def trace_id_of(request: Request) -> str:
    """The request's trace id: GatewayMiddleware's, else read from the headers, else new."""
    state = request.scope.get("state")
    trace_id: str | None = state.get("trace_id") if state else None
    if trace_id:
        return trace_id
    headers = request.headers
    return choose_trace_id(headers.get("x-trace-id"), headers.get("traceparent"))


def client_identity(request: Request) -> str | None:
    """The caller's key name when client keys are configured (401 otherwise); else None."""
    services = services_of(request)
    if not services.client_keys.enabled:
        return None
    authorization = request.headers.get("authorization")
    with _throttled_on_failure(services, request, authorization):
        return services.client_keys.identify(authorization)


_admin_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AdminToken",
    description="Authorization: Bearer <GATEWAY_ADMIN_TOKEN>",
)


async def require_admin(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_admin_bearer)],
) -> AdminCaller:
    """401 without a bearer token, 403 with a wrong one (429 once a client keeps failing);
    else who is calling."""
    services = services_of(request)
    authorization = request.headers.get("authorization")
    with _throttled_on_failure(services, request, authorization):
        services.admin_auth.check(authorization)
    label = request.headers.get("x-gateway-actor") or "admin"
    actor = _ACTOR.sub("", label)[:64] or "admin"
    client = request.client.host if request.client else None
    return AdminCaller(actor=actor, client=client)


@contextmanager
def _throttled_on_failure(
    services: HttpServices, request: Request, authorization: str | None
) -> Iterator[None]:
    """Count an authentication failure against the client's address and the credential it
    presented; past their budget the failure is answered 429 instead of 401/403."""
    try:
        yield
    except (AuthenticationFailed, PermissionDenied):
        address = request.client.host if request.client else "unknown"
        services.auth_throttle.failed(f"address:{address}", credential_key(authorization))
        raise


client_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ClientApiKey",
    description="Authorization: Bearer <key>; required only when GATEWAY_API_KEYS or "
    "GATEWAY_API_KEYS_FILE configures keys.",
)


AdminDep = Annotated[AdminCaller, Depends(require_admin)]
"""Inject the admin caller (and enforce the token) into a handler."""
