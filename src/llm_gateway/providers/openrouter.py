"""OpenRouter: the OpenAI-compatible provider configured for OpenRouter, plus its documented extras.

Nothing here re-implements the wire: :class:`OpenAICompatibleProvider` sends, reads and maps.
What OpenRouter adds, each checked against its documentation:

- endpoint and key: ``OPENROUTER_BASE_URL`` (``https://openrouter.ai/api/v1``) plus
  ``/chat/completions``; ``Authorization: Bearer <OPENROUTER_API_KEY>``
  (https://openrouter.ai/docs/api_reference/authentication);
- app attribution: ``HTTP-Referer`` (the app's URL, the primary identifier) and
  ``X-OpenRouter-Title``; the older ``X-Title`` "is still supported for backwards compatibility",
  so both title headers are sent (https://openrouter.ai/docs/projects/docs/app-attribution,
  https://openrouter.ai/docs/app-attribution);
- ``provider`` routing preferences (https://openrouter.ai/docs/features/provider-routing) and
  ``models`` fallbacks ("Model Fallbacks", https://openrouter.ai/docs/guides/routing/llms-full.txt)
  are request body fields: the provider never rewrites the body, so they pass through untouched;
- usage accounting: every response carries ``usage`` with ``cost`` (credits), cached and
  reasoning tokens, in the last SSE chunk for streams; ``usage: {"include": true}`` and
  ``stream_options.include_usage`` "are deprecated and have no effect", so nothing is added
  (https://openrouter.ai/docs/use-cases/usage-accounting). ``Usage.from_openai`` reads it;
- errors ``{"error": {"code", "message", "metadata"}}``, 402 credits, 403 moderation with
  ``metadata.reasons``, ``Retry-After`` on 429/503, errors after acceptance in a 200 body or as a
  mid-stream event (https://openrouter.ai/docs/api/reference/errors-and-debugging): ``errors_map``;
- ``: OPENROUTER PROCESSING`` SSE comments (https://openrouter.ai/docs/api/reference/streaming):
  skipped by ``sse``, never a first token; the ``X-Generation-Id`` header is the request id.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import SecretStr

from llm_gateway.config.catalog import ProviderConfig
from llm_gateway.providers.openai_compatible import Endpoint, OpenAICompatibleProvider
from llm_gateway.settings import Settings


def attribution_headers(settings: Settings) -> dict[str, str]:
    """The app attribution headers from ``OPENROUTER_HTTP_REFERER`` / ``OPENROUTER_APP_TITLE``;
    an empty setting sends no header."""
    headers: dict[str, str] = {}
    if settings.OPENROUTER_HTTP_REFERER:
        headers["HTTP-Referer"] = settings.OPENROUTER_HTTP_REFERER
    if settings.OPENROUTER_APP_TITLE:
        headers["X-OpenRouter-Title"] = settings.OPENROUTER_APP_TITLE
        headers["X-Title"] = settings.OPENROUTER_APP_TITLE
    return headers


def openrouter_endpoint(
    config: ProviderConfig, settings: Settings, api_key: SecretStr | None
) -> Endpoint:
    """The endpoint of an ``openrouter`` provider: the config's base URL and headers win over the
    settings' (so a second OpenRouter account or a proxy can be declared in the YAML)."""
    headers: Mapping[str, str] = {**attribution_headers(settings), **config.headers}
    return Endpoint(
        name=config.name,
        base_url=config.base_url or settings.OPENROUTER_BASE_URL,
        api_key=api_key,
        headers=headers,
        max_connections=config.max_connections,
        max_body_bytes=settings.GATEWAY_MAX_UPSTREAM_BODY_BYTES,
    )


def create_openrouter_provider(
    config: ProviderConfig, settings: Settings, api_key: SecretStr | None
) -> OpenAICompatibleProvider:
    """An OpenAICompatibleProvider speaking to OpenRouter."""
    return OpenAICompatibleProvider(openrouter_endpoint(config, settings, api_key))
