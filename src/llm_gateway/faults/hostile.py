"""Hostile input: requests built to break the gateway, each checked for the right refusal and
for a gateway that is still healthy afterwards.

Every case sends its request to a served gateway (in front of the simulator), compares the
status with the one it must get, checks that an answer echoing client input stays small, then
asks ``/healthz``, ``/readyz`` and the admin ``/health`` and sends one ordinary chat completion:
"healthy after" means all four answered as they should (the health ``healthy``). Heads too
large for the server go over a raw socket (no client library would send them); the rest with
httpx.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from llm_gateway.faults.cells import MESSAGES, Pace
from llm_gateway.faults.servers import (
    ADMIN,
    gateway_settings,
    healthy,
    served_gateway,
    shipped_config_dir,
)

CHAT = "/v1/chat/completions"
_HELLO = {"model": "gemini-2.5-pro", "messages": MESSAGES, "max_tokens": 16}
_ECHO_LIMIT = 4096  # bytes: an error answer may quote client input, capped (~200 characters)
# Nine anchors of nine aliases each: 9**9 (387 million) nodes once expanded, in about 400 bytes.
ALIAS_BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)),
        "policies: *i",
    ]
)


@dataclass(frozen=True, slots=True)
class Sent:
    """What one hostile request got: the status (0: no answer), the answer's size, and what the
    case checked beyond the status (None: fine, else why not)."""

    status: int
    size: int
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class HostileCase:
    name: str
    expected: int
    send: Callable[[str, Path], Sent]


@dataclass(frozen=True, slots=True)
class HostileResult:
    name: str
    expected: int
    status: int
    healthy_after: bool
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


def run_hostile(pace: Pace, upstream_url: str, workdir: Path) -> list[HostileResult]:
    """Every case against one gateway whose config directory is a copy under ``workdir`` (the
    alias bomb is written there)."""
    config = workdir / "config"
    shutil.copytree(shipped_config_dir(workdir), config, dirs_exist_ok=True)
    settings = gateway_settings(pace, upstream_url, workdir, GATEWAY_CONFIG_DIR=config)
    results = []
    with served_gateway(settings) as url:
        for case in CASES:
            results.append(_run(case, url, config))
    return results


def _run(case: HostileCase, url: str, config: Path) -> HostileResult:
    try:
        sent = case.send(url, config)
    except httpx.HTTPError as error:
        sent = Sent(0, 0, f"no answer: {type(error).__name__}")
    problems = [] if sent.problem is None else [sent.problem]
    if sent.status != case.expected:
        problems.append(f"expected {case.expected}, got {sent.status or 'no answer'}")
    if sent.size > _ECHO_LIMIT:
        problems.append(f"a {sent.size}-byte answer: client input echoed unbounded")
    after = healthy(url) and _chat(url).status_code == 200
    if not after:
        problems.append("the gateway was not healthy afterwards")
    return HostileResult(case.name, case.expected, sent.status, after, problems)


def _chat(url: str, **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("json", _HELLO)
    return httpx.post(f"{url}{CHAT}", timeout=30, **kwargs)


def _answer(response: httpx.Response, problem: str | None = None) -> Sent:
    return Sent(response.status_code, len(response.content), problem)


def _raw(url: str, head: bytes) -> Sent:
    """Send a raw request head; the status of whatever comes back (0: nothing)."""
    host, port = url.removeprefix("http://").split(":")
    received = b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        try:
            while len(received) < 65536:
                part = sock.recv(65536)
                if not part:
                    break
                received += part
        except (ConnectionResetError, TimeoutError):
            pass
    status = int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/1.1 ") else 0
    return Sent(status, len(received))


def _oversized_head(url: str, config: Path) -> Sent:
    filler = b"x" * (200 * 1024)
    return _raw(
        url, b"POST " + CHAT.encode() + b" HTTP/1.1\r\nHost: a\r\nX-Big: " + filler + b"\r\n\r\n"
    )


def _many_headers(url: str, config: Path) -> Sent:
    headers = b"".join(b"X-H%d: v\r\n" % n for n in range(1000))
    return _raw(url, b"GET /healthz HTTP/1.1\r\nHost: a\r\n" + headers + b"\r\n")


def _raw_json(url: str, body: bytes, path: str = CHAT) -> Sent:
    """POST a body as it is (not valid JSON, or JSON no serializer would write)."""
    headers = {"content-type": "application/json"}
    return _answer(httpx.post(f"{url}{path}", content=body, headers=headers, timeout=30))


_HI = b'"messages": [{"role": "user", "content": "hi"}]'


def _deep_content(url: str, config: Path) -> Sent:
    depth = 2000
    content = b"[" * depth + b'"hi"' + b"]" * depth
    model = b'{"model": "gemini-2.5-pro", '
    return _raw_json(url, model + b'"messages": [{"role": "user", "content": ' + content + b"}]}")


def _role_object(url: str, config: Path) -> Sent:
    return _answer(_chat(url, json={**_HELLO, "messages": [{"role": {"x": 1}, "content": "hi"}]}))


def _malformed_json(url: str, config: Path) -> Sent:
    return _raw_json(url, b'{"model": "gemini-2.5-pro", ' + _HI[:-3])


def _nan_temperature(url: str, config: Path) -> Sent:
    return _raw_json(url, b'{"model": "gemini-2.5-pro", ' + _HI + b', "temperature": NaN}')


def _nan_temperature_node(url: str, config: Path) -> Sent:
    return _raw_json(url, b"{" + _HI + b', "temperature": NaN}', "/api/chat/writer")


def _huge_integer(url: str, config: Path) -> Sent:
    return _raw_json(url, b"{" + _HI + b', "max_tokens": 1' + b"0" * 30 + b"}", "/api/chat/writer")


def _long_model(url: str, config: Path) -> Sent:
    return _answer(_chat(url, json={**_HELLO, "model": "m" * 10_000}))


def _huge_node(url: str, config: Path) -> Sent:
    node = "n" * 12_000  # within the head's 16 KiB line limit: reaches the router
    return _answer(httpx.post(f"{url}/api/chat/{node}", json={"messages": MESSAGES}, timeout=30))


def _huge_node_as_model(url: str, config: Path) -> Sent:
    return _answer(_chat(url, json={**_HELLO, "model": "n" * 3_900_000}))


def _huge_node_header(url: str, config: Path) -> Sent:
    response = _chat(url, headers={"X-Gateway-Node": "n" * 12_000})
    return _answer(response)


def _too_many_choices(url: str, config: Path) -> Sent:
    return _answer(_chat(url, json={**_HELLO, "n": 10_000}))


def _bad_tool_choice(url: str, config: Path) -> Sent:
    return _answer(_chat(url, json={**_HELLO, "tool_choice": {"type": "function"}}))


def _oversized_body(url: str, config: Path) -> Sent:
    big = {**_HELLO, "messages": [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]}
    return _answer(_chat(url, json=big))


def _reused_trace_id(url: str, config: Path) -> Sent:
    headers = {"X-Trace-Id": "faults-reused-trace"}
    first, second = (_chat(url, headers=headers) for _ in range(2))
    trace = httpx.get(f"{url}/api/admin/gateway/traces/faults-reused-trace", headers=ADMIN)
    count = trace.json().get("request_count") if trace.status_code == 200 else None
    problem = None if count == 2 else f"trace kept {count} request(s), not 2"
    if first.status_code != 200:
        problem = f"the first request got {first.status_code}"
    return _answer(second, problem)


def _alias_bomb(url: str, config: Path) -> Sent:
    policies = config / "model_policies.yaml"
    original = policies.read_text()
    policies.write_text(ALIAS_BOMB)
    try:
        reload = httpx.post(f"{url}/api/admin/gateway/policies/reload", headers=ADMIN, timeout=60)
    finally:
        policies.write_text(original)
    problem = None if "alias" in reload.text else "the refusal does not say why (aliases)"
    return _answer(reload, problem)


def _bad_admin_token(url: str, config: Path) -> Sent:
    wrong = {"Authorization": "Bearer wrong-token"}
    return _answer(httpx.get(f"{url}/api/admin/gateway/health", headers=wrong, timeout=10))


CASES: list[HostileCase] = [
    HostileCase("oversized head (200 KiB header)", 431, _oversized_head),
    HostileCase("huge header count (1,000 headers)", 431, _many_headers),
    HostileCase("content nested 2,000 lists deep", 400, _deep_content),
    HostileCase("messages[0].role as an object", 400, _role_object),
    HostileCase("malformed JSON (truncated body)", 400, _malformed_json),
    HostileCase("temperature NaN (/v1)", 400, _nan_temperature),
    HostileCase("temperature NaN (/api/chat)", 400, _nan_temperature_node),
    HostileCase("max_tokens past 64 bits (/api/chat)", 400, _huge_integer),
    HostileCase("10 kB model name", 404, _long_model),
    HostileCase("12 kB node name in the path", 422, _huge_node),
    HostileCase("3.9 MB node name as the model", 404, _huge_node_as_model),
    HostileCase("12 kB X-Gateway-Node", 200, _huge_node_header),
    HostileCase("n = 10,000", 400, _too_many_choices),
    HostileCase("tool_choice without a function", 400, _bad_tool_choice),
    HostileCase("5 MiB body (over GATEWAY_MAX_BODY_BYTES)", 413, _oversized_body),
    HostileCase("reused X-Trace-Id (both traces kept)", 200, _reused_trace_id),
    HostileCase("alias-bomb config reload (admin API)", 422, _alias_bomb),
    HostileCase("wrong admin token", 403, _bad_admin_token),
]
