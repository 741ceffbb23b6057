"""The migration guide's curl commands (sections "2.2 Test Migration" and "Admin Operations
Guide"), verbatim, and a parser that turns one into an HTTP request.

The commands are kept here so the tests run without the guide; ``guide_curl_commands`` reads
them from the guide itself when it is available, to check that this copy has not drifted.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

TEST_MIGRATION = [
    """curl -X POST localhost:8000/api/admin/gateway/test-selection \\
  -H "Content-Type: application/json" \\
  -d '{"node_name": "formatter", "capabilities": ["streaming"]}'""",
]

ADMIN_OPERATIONS = [
    "curl -X GET localhost:8000/api/admin/gateway/health",
    "curl -X GET localhost:8000/api/admin/gateway/cost-optimization",
    "curl -X GET localhost:8000/api/admin/gateway/traces?hours=1",
    """curl -X PUT localhost:8000/api/admin/gateway/policies/writer \\
  -H "Content-Type: application/json" \\
  -d '{"model_id": "claude-sonnet", "mode": "override"}'""",
    """curl -X PUT localhost:8000/api/admin/gateway/policies/bulk \\
  -H "Content-Type: application/json" \\
  -d '{
    "updates": {
      "writer": "gemini-2.5-pro",
      "evaluator": "claude-sonnet"
    }
  }'""",
    "curl -X POST localhost:8000/api/admin/gateway/policies/reload",
    "curl -X GET localhost:8000/api/admin/gateway/validate",
    "curl -X GET localhost:8000/api/admin/gateway/traces/{trace_id}",
    "curl -X GET localhost:8000/api/admin/gateway/recommendations/writer",
]


@dataclass
class CurlRequest:
    method: str
    path: str  # with the query string
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


def parse_curl(command: str) -> CurlRequest:
    """``curl [-X METHOD] URL [-H 'K: V']... [-d DATA]`` → the request (host dropped)."""
    args = shlex.split(command.replace("\\\n", " "))
    assert args[0] == "curl", command
    method, url, headers, body = "GET", None, {}, None
    rest = iter(args[1:])
    for arg in rest:
        if arg == "-X":
            method = next(rest)
        elif arg == "-H":
            name, _, value = next(rest).partition(":")
            headers[name.strip()] = value.strip()
        elif arg in ("-d", "--data"):
            body = next(rest)
            method = method if method != "GET" else "POST"
        else:
            url = arg
    assert url is not None, command
    parts = urlsplit(url if "://" in url else f"http://{url}")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return CurlRequest(method=method, path=path, headers=headers, body=body)


def find_guide() -> Path | None:
    """The migration guide, beside the repository (``shared/spec``) or at /work/shared/spec."""
    root = Path(__file__).resolve().parents[2]
    for candidate in (
        root.parent / "shared" / "spec" / "migration-guide.md",
        Path("/work/shared/spec/migration-guide.md"),
    ):
        if candidate.is_file():
            return candidate
    return None


def guide_curl_commands(text: str, heading: str) -> list[str]:
    """The curl commands of the ```bash blocks under ``heading`` (until the next heading of the
    same or a higher level; ``#`` lines inside code blocks are comments, not headings)."""
    level = len(heading) - len(heading.lstrip("#"))
    section: list[str] = []
    inside = in_fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and line.startswith("#"):
            depth = len(line) - len(line.lstrip("#"))
            if line.strip() == heading:
                inside = True
                continue
            if inside and depth <= level:
                break
        if inside:
            section.append(line)
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", "\n".join(section) + "\n", re.DOTALL):
        current: list[str] = []
        for line in block.splitlines():
            if line.startswith("curl ") or current:
                current.append(line.rstrip())
                if not line.rstrip().endswith("\\") and not _open_quote(current):
                    commands.append("\n".join(current))
                    current = []
    return commands


def _open_quote(lines: list[str]) -> bool:
    return "\n".join(lines).count("'") % 2 == 1
