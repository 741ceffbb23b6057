"""The HTTP service: ``create_app(settings)``.

The app's lifespan builds the gateway (providers and their HTTP clients, stores, tracer) from
the settings, installs it as the process's gateway (so the guide's ``get_*()`` accessors return
its parts) and closes it at shutdown, after the server has let in-flight requests and streams
finish (``GATEWAY_SHUTDOWN_GRACE_S``, enforced by ``llm-gateway serve``). Auth, audit and
limits come from the settings too; nothing is read from the environment after this point.

Routes: ``/v1/chat/completions`` and ``/v1/models`` (OpenAI-compatible), ``/api/chat/...``
(node-aware chat), ``/api/admin/gateway/...`` (admin), ``/admin`` (the dashboard),
``/healthz``, ``/readyz``, ``/metrics``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from llm_gateway import __version__
from llm_gateway.admin_ui import admin_ui_router
from llm_gateway.alerts import open_alerts
from llm_gateway.budgets.runtime import close_budgets, open_budgets
from llm_gateway.durable_state import DurableState, open_control
from llm_gateway.gateway import LLMGateway, build_gateway, set_llm_gateway
from llm_gateway.gc_tuning import tune_for_serving
from llm_gateway.http_errors import install_error_handlers
from llm_gateway.limits.runtime import start_rate_limits
from llm_gateway.middleware import GatewayMiddleware
from llm_gateway.rollout.runtime import close_rollout, open_rollout
from llm_gateway.routes import openai_api, ops, rollout_public
from llm_gateway.routes.admin_gateway import admin_gateway_router
from llm_gateway.routes.chat_gateway import chat_gateway_router
from llm_gateway.routes.deps import HttpServices
from llm_gateway.routes.fast_path import FastPath
from llm_gateway.routes.openai_schema import ErrorResponse, inline_schema
from llm_gateway.settings import Settings, get_settings

logger = logging.getLogger("llm_gateway.app")

DESCRIPTION = (
    "A capability-aware LLM gateway: OpenAI-compatible chat completions with model selection per "
    "agent node, retries and fallbacks, cost tracking, tracing and an admin API."
)


def create_app(
    settings: Settings | None = None,
    *,
    gateway: LLMGateway | None = None,
    tune_gc: bool = False,
) -> FastAPI:
    """The gateway's FastAPI application.

    ``gateway``: use this one instead of building one from ``settings`` (tests, embedding); the
    app then leaves closing it to the caller. ``tune_gc``: once the gateway is built, freeze
    the objects alive and make young collections rarer (:mod:`llm_gateway.gc_tuning`), for a
    process that serves this one app (``llm-gateway serve``).
    """
    settings = settings or get_settings()
    services = HttpServices.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = gateway is None
        live = gateway if gateway is not None else build_gateway(settings)
        app.state.llm_gateway = live
        set_llm_gateway(live)
        durable = await DurableState.open(settings, live)
        control = await open_control(settings, live, durable)
        app.state.control = control
        budgets = await open_budgets(settings, live, control)
        alerts = await open_alerts(settings, live, services.audit)
        rollout = await open_rollout(settings, live, control, services.audit)
        rate_limits = start_rate_limits(settings, live, control)
        app.state.gateway_ready = True
        if tune_gc:
            tune_for_serving()
        _announce(settings, live)
        try:
            yield
        finally:
            app.state.gateway_ready = False
            await close_rollout(live, control, rollout)
            await alerts.aclose()
            live.alerts = None
            await rate_limits.aclose()
            await close_budgets(live, budgets)
            await control.aclose()
            app.state.control = None
            if durable is not None:
                await durable.aclose(live)
            if owned:
                await live.aclose()
                set_llm_gateway(None)

    app = GatewayApp(
        title="llm-gateway",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # No redirect for a trailing slash: Starlette builds its Location from the Host header,
        # which the client chooses. Such a path is a 404 that says to drop the slash.
        redirect_slashes=False,
    )
    app.state.gateway_services = services
    app.state.gateway_ready = False
    install_error_handlers(app)
    max_body = settings.GATEWAY_MAX_BODY_BYTES
    sampling = settings.GATEWAY_ACCESS_LOG_SAMPLE_RATE
    app.add_middleware(GatewayMiddleware, max_body_bytes=max_body, access_log_sample_rate=sampling)
    # The hot endpoints skip FastAPI's router, not the middleware: same ids, limits and log.
    app.fast_path = FastPath(openai_api.HOT_ROUTES)
    app.fast_stack = GatewayMiddleware(
        app.fast_path, max_body_bytes=max_body, access_log_sample_rate=sampling
    )
    app.include_router(ops.router)
    app.include_router(openai_api.router)
    app.include_router(rollout_public.router)
    app.include_router(chat_gateway_router)
    app.include_router(admin_gateway_router)
    app.include_router(admin_ui_router)
    return app


class GatewayApp(FastAPI):
    """FastAPI, with the hot endpoints served through ``fast_stack`` (GatewayMiddleware in front
    of :class:`FastPath`) instead of the router; every other request goes the usual way."""

    fast_path: FastPath | None = None
    fast_stack: ASGIApp | None = None

    def openapi(self) -> dict[str, Any]:
        """FastAPI's schema, plus the answers every JSON body can get before its handler runs:
        400 (not JSON, or not the shape: ``invalid_json`` / ``validation_error``) and 413."""
        if self.openapi_schema is None:
            schema = super().openapi()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if "requestBody" in operation:
                        for status, text in _BODY_ERRORS.items():
                            operation["responses"].setdefault(status, _error_answer(text))
        return super().openapi()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.fast_stack is not None
            and self.fast_path is not None
            and self.fast_path.serves(scope)
        ):
            scope["app"] = self
            await self.fast_stack(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


_BODY_ERRORS = {
    "400": "The body is not JSON (code invalid_json) or not the expected shape; param names "
    "the field",
    "413": "Request body too large (GATEWAY_MAX_BODY_BYTES)",
}


def _error_answer(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": inline_schema(ErrorResponse)}},
    }


def create_app_from_env() -> FastAPI:
    """``create_app()`` with the process settings: the factory ``llm-gateway serve`` runs."""
    return create_app(tune_gc=True)


def _announce(settings: Settings, gateway: LLMGateway) -> None:
    if settings.use_simulator:
        logger.warning(
            "GATEWAY_SIMULATE=true: answering with the built-in SIMULATED provider "
            "(set OPENROUTER_API_KEY and unset GATEWAY_SIMULATE for real models)"
        )
    for problem in gateway.missing_provider_keys():
        logger.error("%s: requests to it fail", problem)
    logger.info(
        "gateway ready: %d models, %d nodes, config %s from %s (%s)",
        len(gateway.registry.get_all_policies()),
        len(gateway.registry.get_all_nodes()),
        gateway.registry.version,
        gateway.registry.config_dir,
        settings.config_location[1],
    )
