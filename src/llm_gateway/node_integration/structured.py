"""``with_structured_output`` for the gateway's chat model: three ways to get an answer that
parses into a schema.

- ``function_calling``: the schema becomes the one tool, and the model is forced to call it;
- ``json_schema``: OpenAI ``response_format: {"type": "json_schema", ...}`` (``strict`` passed on);
- ``json_mode``: ``response_format: {"type": "json_object"}``; the prompt says which keys.

Pydantic classes come back as instances, TypedDicts and JSON schemas as dicts. With
``include_raw`` the result is ``{"raw", "parsed", "parsing_error"}``, as LangChain's own models do.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

if TYPE_CHECKING:
    from llm_gateway.node_integration.chat_model import GatewayChatModel

METHODS = ("function_calling", "json_schema", "json_mode")


def structured_output(
    model: GatewayChatModel,
    schema: Mapping[str, Any] | type,
    method: str,
    *,
    include_raw: bool,
    strict: bool | None,
) -> Runnable[Any, Any]:
    """The model bound for ``method`` and piped into the matching parser."""
    if method not in METHODS:
        raise ValueError(f"unknown method '{method}' (known: {', '.join(METHODS)})")
    is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)  # v2 or v1
    trace_format = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
    parser: Runnable[Any, Any]
    if method == "function_calling":
        name = convert_to_openai_tool(schema)["function"]["name"]
        bound = model.bind_tools(
            [schema], tool_choice=name, strict=strict, ls_structured_output_format=trace_format
        )
        if is_pydantic:
            parser = PydanticToolsParser(tools=[schema], first_tool_only=True)
        else:
            parser = JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
    else:
        if method == "json_schema":
            json_schema = convert_to_json_schema(schema)  # type: ignore[arg-type]
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {
                    "name": json_schema.get("title") or "output",
                    "schema": json_schema,
                    **({"strict": strict} if strict is not None else {}),
                },
            }
        else:
            response_format = {"type": "json_object"}
        bound = model.bind(
            response_format=response_format, ls_structured_output_format=trace_format
        )
        parser = PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
    if not include_raw:
        return bound | parser
    parsed = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    fallback = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=bound) | parsed.with_fallbacks([fallback], exception_key="parsing_error")
