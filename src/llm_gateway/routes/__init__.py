"""HTTP routers. Thin: each handler maps a request onto the gateway core and renders the result.

- :mod:`.openai_api` — ``POST /v1/chat/completions``, ``GET /v1/models`` (OpenAI-compatible)
- :mod:`.chat_gateway` — ``chat_gateway_router``: node-aware chat for a frontend (JSON and SSE)
- :mod:`.admin_gateway` — ``admin_gateway_router``: the migration guide's admin API
- :mod:`.ops` — ``/healthz`` and ``/readyz``
"""
