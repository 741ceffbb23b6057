"""The prompts file: JSON lines, one prompt each —

    {"id": "essay-intro", "prompt": "Write the opening paragraph of ...", "max_tokens": 400}
    {"id": "chat", "messages": [{"role": "system", "content": "..."}, {"role": "user", ...}]}

``prompt`` (a user message, with an optional ``system``) or ``messages``; ``id`` defaults to the
line number; ``max_tokens`` and ``temperature`` are optional. Blank lines and lines starting
with ``#`` are skipped. A bad line raises :class:`PromptsError` naming the file and line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

SAMPLE_NAME = "sample_prompts.jsonl"


class PromptsError(ValueError):
    """The prompts file cannot be used; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class ComparePrompt:
    id: str
    messages: list[dict[str, Any]]
    max_tokens: int | None = None
    temperature: float | None = None

    def body(self, model: str) -> dict[str, Any]:
        """The Chat Completions body of this prompt for ``model``."""
        body: dict[str, Any] = {"model": model, "messages": self.messages}
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.temperature is not None:
            body["temperature"] = self.temperature
        return body


def sample_prompts_path() -> Path:
    """The sample prompts shipped with the package (examples/prompts.jsonl is the same file)."""
    return Path(str(resources.files("llm_gateway.compare").joinpath(SAMPLE_NAME)))


def _parse(entry: Any, where: str, number: int) -> ComparePrompt:
    if not isinstance(entry, dict):
        raise PromptsError(f"{where}: expected a JSON object")
    unknown = set(entry) - {"id", "prompt", "system", "messages", "max_tokens", "temperature"}
    if unknown:
        raise PromptsError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if "messages" in entry:
        messages = entry["messages"]
        if (
            not isinstance(messages, list)
            or not messages
            or not all(isinstance(m, dict) and "role" in m for m in messages)
        ):
            raise PromptsError(f"{where}: messages: a non-empty list of {{role, content}} objects")
    elif isinstance(entry.get("prompt"), str) and entry["prompt"].strip():
        messages = [{"role": "user", "content": entry["prompt"]}]
        if isinstance(entry.get("system"), str):
            messages.insert(0, {"role": "system", "content": entry["system"]})
    else:
        raise PromptsError(f"{where}: needs 'prompt' (a non-empty string) or 'messages'")
    max_tokens = entry.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise PromptsError(f"{where}: max_tokens: a positive integer")
    temperature = entry.get("temperature")
    if temperature is not None and not isinstance(temperature, int | float):
        raise PromptsError(f"{where}: temperature: a number")
    return ComparePrompt(str(entry.get("id") or number), messages, max_tokens, temperature)


def load_prompts(path: Path) -> list[ComparePrompt]:
    """Every prompt of ``path``; PromptsError for a missing file, a bad line or none at all."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise PromptsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    prompts = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{number}"
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PromptsError(f"{where}: not JSON ({exc.msg})") from None
        prompts.append(_parse(entry, where, number))
    if not prompts:
        raise PromptsError(f"{path}: no prompts")
    ids = [p.id for p in prompts]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise PromptsError(f"{path}: duplicate id(s) {', '.join(duplicated)}")
    return prompts
