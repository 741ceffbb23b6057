"""What outlives a process: overrides, disabled models and traces survive a restart; the guide's
monitoring snippets (2.3, 5.2), run in a separate process, report the server's numbers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
from tests.http.conftest import AUTH, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app

MESSAGES = [{"role": "user", "content": "hello"}]


def _settings(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    return make_settings(
        tmp_path,
        DATABASE_URL=database_url,
        GATEWAY_DB_AUTO_MIGRATE=True,
        GATEWAY_LEDGER_SPOOL_DIR=tmp_path / "spool",
    )


def _restart_keeps_admin_state(tmp_path: Path, database_url: str) -> None:
    settings = _settings(tmp_path, database_url)
    with serve(create_app(settings)) as (url, _):
        put = httpx.put(
            f"{url}/api/admin/gateway/policies/formatter",
            json={"model_id": "gpt-4o-mini", "mode": "override"},
            headers=AUTH,
        )
        assert put.status_code == 200, put.text
        answer = httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "formatter", "messages": MESSAGES},
            headers={"X-Trace-Id": "restart-trace-1"},
        )
        assert answer.headers["x-gateway-model"] == "gpt-4o-mini"
        switched = httpx.put(
            f"{url}/api/admin/gateway/models/claude-opus",
            json={"enabled": False, "reason": "too dear this week"},
            headers=AUTH,
        )
        assert switched.json()["enabled"] is False and switched.json()["changed"] is True
    with serve(create_app(_settings(tmp_path, database_url))) as (url, _):
        models = httpx.get(f"{url}/api/admin/gateway/models", headers=AUTH).json()["models"]
        assert {m["model_id"] for m in models if m["disabled_by_admin"]} == {"claude-opus"}
        policies = httpx.get(f"{url}/api/admin/gateway/policies", headers=AUTH).json()
        assert policies["effective"]["formatter"] == "gpt-4o-mini"
        assert policies["nodes"]["formatter"]["override"]["model_id"] == "gpt-4o-mini"
        answer = httpx.post(
            f"{url}/v1/chat/completions", json={"model": "formatter", "messages": MESSAGES}
        )
        assert answer.headers["x-gateway-model"] == "gpt-4o-mini"
        trace = httpx.get(f"{url}/api/admin/gateway/traces/restart-trace-1", headers=AUTH)
        assert trace.status_code == 200, trace.text
        assert trace.json()["model"] == "gpt-4o-mini"
        audit = httpx.get(f"{url}/api/admin/gateway/audit", headers=AUTH).json()
        assert [e["action"] for e in audit["entries"]] == ["model.disable", "override.set"]
        assert audit["entries"][0]["detail"] == "too dear this week"
        removed = httpx.delete(f"{url}/api/admin/gateway/policies/formatter", headers=AUTH)
        assert removed.json()["removed"] is True
    with serve(create_app(_settings(tmp_path, database_url))) as (url, _):
        policies = httpx.get(f"{url}/api/admin/gateway/policies", headers=AUTH).json()
        assert policies["nodes"]["formatter"]["override"] is None


def test_restart_keeps_overrides_traces_and_audit_on_sqlite(tmp_path: Path) -> None:
    _restart_keeps_admin_state(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/durable.sqlite3")


def test_restart_keeps_overrides_traces_and_audit_on_postgresql(
    tmp_path: Path, pg_url: str
) -> None:
    _restart_keeps_admin_state(tmp_path, pg_url)


GUIDE_SNIPPETS = textwrap.dedent(
    """
    import asyncio, json
    from llm_gateway.model_selector import get_model_selector
    from llm_gateway.tracing import get_tracer

    async def main():
        metrics = await get_tracer().get_trace_metrics(hours=1)
        recommendations = await get_model_selector().get_model_recommendations("formatter")
        print(json.dumps({"metrics": metrics, "performance": recommendations["performance_data"]}))

    asyncio.run(main())
    """
)


def test_guide_snippets_in_another_process_see_the_servers_numbers(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path}/shared.sqlite3"
    with serve(create_app(_settings(tmp_path, database_url))) as (url, _):
        for i in range(12):
            model = "gpt-4o-mini" if i % 3 else "claude-haiku"
            response = httpx.post(
                f"{url}/v1/chat/completions", json={"model": model, "messages": MESSAGES}
            )
            assert response.status_code == 200
        httpx.get(f"{url}/api/admin/gateway/metrics", headers=AUTH)  # flushes the writer
        result = subprocess.run(
            [sys.executable, "-c", GUIDE_SNIPPETS],
            env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert result.returncode == 0, result.stderr
    import json

    seen = json.loads(result.stdout.strip().splitlines()[-1])
    metrics = seen["metrics"]
    assert (metrics["source"], metrics["request_count"]) == ("record_store", 12)
    assert metrics["model_distribution"] == {"gpt-4o-mini": 8, "claude-haiku": 4}
    assert metrics["error_rate"] == 0.0
    assert metrics["total_cost"] > 0
    performance = seen["performance"]
    assert performance["gpt-4o-mini"]["source"] == "observed", performance["gpt-4o-mini"]


def test_guide_snippets_without_the_servers_store_say_whose_numbers_they_are(
    tmp_path: Path,
) -> None:
    """Run where ``DATABASE_URL`` names no existing store (the default ``./data`` path, in
    another directory than the server's), the metrics are this process's own: ``memory``."""
    result = subprocess.run(
        [sys.executable, "-c", GUIDE_SNIPPETS],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    import json

    metrics = json.loads(result.stdout.strip().splitlines()[-1])["metrics"]
    assert (metrics["source"], metrics["request_count"]) == ("memory", 0)
    assert not (tmp_path / "data").exists()


def test_restart_remembers_observed_performance(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path}/seed.sqlite3"
    with serve(create_app(_settings(tmp_path, database_url))) as (url, _):
        for _ in range(8):
            response = httpx.post(
                f"{url}/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MESSAGES}
            )
            assert response.status_code == 200
    with serve(create_app(_settings(tmp_path, database_url))) as (url, _):
        seen = httpx.get(f"{url}/api/admin/gateway/recommendations/formatter", headers=AUTH)
        performance = seen.json()["performance_data"]["gpt-4o-mini"]
        assert performance["source"] == "observed"
        assert performance["samples"] >= 8
        assert performance["error_rate"] == 0.0
