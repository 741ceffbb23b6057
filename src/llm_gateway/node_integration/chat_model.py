"""``GatewayChatModel``: a LangChain chat model whose every call goes through the gateway.

The node (``node_name``) states what the request needs; the gateway's selector picks the model
(unless ``model`` names one) and its retries, fallbacks, budgets, cost and traces apply. The
answer says which model answered: ``response_metadata["model_name"]`` (also ``trace_id``,
``cost_usd`` and ``finish_reason``), with ``usage_metadata`` from the provider's usage.

Requests go to the process's own gateway (no HTTP hop), or to a served gateway when
``gateway_url`` is set (default: the ``GATEWAY_URL`` environment variable) — see
:mod:`.backends`. Either way every call runs on one background event loop
(:mod:`.loop_thread`), so ``invoke`` works with or without a running loop in the caller's thread
and ``ainvoke`` from any loop.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from llm_gateway.node_integration.backends import (
    Backend,
    CallContext,
    InProcessBackend,
    RemoteBackend,
)
from llm_gateway.node_integration.loop_thread import background_loop
from llm_gateway.node_integration.messages import PROVIDER, ai_chunk, ai_message, to_openai_messages
from llm_gateway.node_integration.structured import structured_output

_REMOTE: dict[tuple[str, str | None, float | None], RemoteBackend] = {}


class GatewayChatModel(BaseChatModel):
    """A chat model for one agent node, answered by the gateway's choice of model."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    node_name: str = "default"
    """The node asking; its requirements (node_requirements.yaml) drive selection."""
    strategy: str | None = None
    """``balanced``, ``cost_optimized``, ``quality_optimized`` or ``latency_optimized``."""
    trace_id: str | None = None
    """Joins every request of this client to one trace (else each gets a new trace id)."""
    model: str | None = Field(default=None, alias="model_name")
    """A logical model id to ask for by name instead of selection (``None``: the node decides)."""
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    timeout: float | None = None
    """Seconds for the whole request to a remote gateway (in process: the gateway's deadlines)."""
    max_retries: int | None = None
    """Accepted as a standard parameter; the gateway's own retries (GATEWAY_MAX_RETRIES) apply."""
    streaming: bool = False
    user: str | None = None
    """The end user, sent as OpenAI's ``user`` field (per-user budgets, ledger)."""
    gateway_url: str | None = Field(default_factory=lambda: os.environ.get("GATEWAY_URL") or None)
    """A served gateway's base URL (``GATEWAY_URL``); unset: the in-process gateway."""
    api_key: SecretStr | None = Field(
        default_factory=lambda: _secret(os.environ.get("GATEWAY_API_KEY"))
    )
    """The client key a served gateway requires (``GATEWAY_API_KEY``), when it has keys."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Further Chat Completions fields sent with every request (``top_p``, ``seed``, ...)."""

    _gateway: Any = PrivateAttr(default=None)

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy_value(cls, value: Any) -> Any:
        return getattr(value, "value", value)  # a SelectionStrategy member, or its string

    @property
    def _llm_type(self) -> str:
        return "llm-gateway"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "node_name": self.node_name,
            "strategy": self.strategy,
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "remote": bool(self.gateway_url),
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=PROVIDER,
            ls_model_name=str(kwargs.get("model") or self.model or self.node_name),
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        stops = stop or kwargs.get("stop") or self.stop
        if stops:
            params["ls_stop"] = list(stops)
        return params

    def with_gateway(self, gateway: Any) -> GatewayChatModel:
        """This client on a given in-process ``LLMGateway`` (instead of ``get_llm_gateway()``)."""
        self._gateway = gateway
        return self

    # -- the requests -------------------------------------------------------------------

    def _backend(self) -> Backend:
        if not self.gateway_url:
            return InProcessBackend(self._gateway)
        key = self.api_key.get_secret_value() if self.api_key else None
        ident = (self.gateway_url, key, self.timeout)
        backend = _REMOTE.get(ident)
        if backend is None:  # one connection pool per gateway, shared by its clients
            backend = _REMOTE[ident] = RemoteBackend(
                self.gateway_url, api_key=key, timeout_s=self.timeout
            )
        return backend

    def _context(self) -> CallContext:
        return CallContext(self.node_name, self.strategy, self.trace_id, self.user)

    def _body(
        self, messages: Sequence[BaseMessage], stop: list[str] | None, stream: bool, **kwargs: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model or "auto", **self.model_kwargs}
        for name in ("temperature", "max_tokens", "user"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        stops = stop if stop is not None else self.stop
        if stops:
            body["stop"] = list(stops)
        kwargs.pop("stream", None)
        body.update({k: v for k, v in kwargs.items() if v is not None})
        body["messages"] = to_openai_messages(messages)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        body = self._body(messages, stop, False, **kwargs)
        completion = background_loop().run(self._backend().complete(body, self._context()))
        return _result(ai_message(completion))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        body = self._body(messages, stop, False, **kwargs)
        completion = await background_loop().arun(self._backend().complete(body, self._context()))
        return _result(ai_message(completion))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        body = self._body(messages, stop, True, **kwargs)
        source = self._backend().stream(body, self._context())
        for chunk, meta in background_loop().iterate(source):
            yield ChatGenerationChunk(message=ai_chunk(chunk, meta))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        body = self._body(messages, stop, True, **kwargs)
        source = self._backend().stream(body, self._context())
        async for chunk, meta in background_loop().aiterate(source):
            yield ChatGenerationChunk(message=ai_chunk(chunk, meta))

    # -- tools and structured output ----------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[Mapping[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | bool | Mapping[str, Any] | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """The model with OpenAI ``tools`` bound. ``tool_choice``: a tool's name (forces it),
        ``"auto"``, ``"none"``, ``"any"`` / ``"required"`` / ``True`` (some tool), or an OpenAI
        ``{"type": "function", ...}`` object."""
        formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
        if tool_choice is not None and tool_choice is not False:
            kwargs["tool_choice"] = _tool_choice(tool_choice, formatted)
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: Mapping[str, Any] | type,
        *,
        method: Literal["function_calling", "json_schema", "json_mode"] = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Answers parsed into ``schema`` (pydantic class, TypedDict or JSON schema), by a
        forced tool call (``function_calling``), OpenAI ``response_format`` ``json_schema``, or
        ``json_mode`` (``json_object``; the prompt must ask for the keys)."""
        if kwargs:
            raise ValueError(f"unsupported arguments: {sorted(kwargs)}")
        return structured_output(self, schema, method, include_raw=include_raw, strict=strict)


def _tool_choice(choice: Any, tools: list[dict[str, Any]]) -> Any:
    if choice is True or choice in ("any", "required"):
        return "required"
    if choice in ("auto", "none"):
        return choice
    if isinstance(choice, str):
        names = [tool["function"]["name"] for tool in tools]
        if choice not in names:
            raise ValueError(f"tool_choice '{choice}' is not one of the bound tools {names}")
        return {"type": "function", "function": {"name": choice}}
    if isinstance(choice, Mapping):
        return dict(choice)
    raise ValueError(f"unsupported tool_choice {choice!r}")


def _result(message: AIMessage) -> ChatResult:
    meta = message.response_metadata
    return ChatResult(
        generations=[ChatGeneration(message=message)],
        llm_output={"model_name": meta.get("model_name"), "trace_id": meta.get("trace_id")},
    )


def _secret(value: str | None) -> SecretStr | None:
    return SecretStr(value) if value else None
