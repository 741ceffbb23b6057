"""``llm-gateway compare`` end to end against the simulator over HTTP (OpenRouter pointed at
it): the table, the JSON and the HTML report; and the guide's script form as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_gateway.cli import app
from llm_gateway.settings import reset_settings_cache
from llm_gateway.simulator.testing import run_simulator

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = [
    {"id": "intro", "prompt": "Write an opening line about rivers.", "max_tokens": 80},
    {
        "id": "formal",
        "system": "Be formal.",
        "prompt": "Rewrite: results are ok.",
        "max_tokens": 60,
    },
    {"id": "chat", "messages": [{"role": "user", "content": "One sentence on libraries."}]},
]


@pytest.fixture
def simulator_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """OpenRouter is the simulator (real HTTP, zero latency); writer's gemini fails once."""
    faults = {"models": {"google/gemini-2.0-flash-exp": {"faults": [
        {"kind": "error", "status": 400, "times": 1}]}}}  # fmt: skip
    with run_simulator(faults) as sim:
        monkeypatch.setenv("OPENROUTER_BASE_URL", sim.base_url)
        monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-compare-test-0000")
        monkeypatch.setenv("GATEWAY_SIMULATE", "false")
        monkeypatch.setenv("GATEWAY_MAX_RETRIES", "0")
        reset_settings_cache()
        yield sim.base_url
    reset_settings_cache()


def prompts_file(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in PROMPTS) + "\n", encoding="utf-8")
    return path


def test_compare_writes_table_json_and_html(simulator_env: str, tmp_path: Path) -> None:
    html, js = tmp_path / "report.html", tmp_path / "report.json"
    args = ["compare", "--node", "formatter", "--old-model", "gemini-2.5-pro",
            "--prompts", str(prompts_file(tmp_path)),
            "--out", str(html), "--json-out", str(js)]  # fmt: skip

    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert "SIMULATED" not in result.output  # a provider key is set: the real HTTP path
    assert "v1 gemini-2.5-pro vs v2 gateway" in result.output
    report = json.loads(js.read_text())
    assert [p["id"] for p in report["prompts"]] == ["intro", "formal", "chat"]
    first = report["prompts"][0]
    assert first["v1"]["ok"] is False  # the simulator's one 400 for gemini: v1 has no fallback
    assert "ProviderBadRequest" in first["v1"]["error"]
    assert first["similarity"] is None
    totals = report["totals"]
    assert totals["v1"]["failures"] == 1
    assert totals["v2"]["failures"] == 0
    assert totals["similarity"]["compared"] == 2
    assert 0.0 <= totals["similarity"]["mean"] <= 1.0
    assert "bigrams" in totals["similarity"]["measure"]
    for p in report["prompts"]:
        assert p["v2"]["model"], p  # the model the gateway chose for the formatter
        assert p["v2"]["cost_usd"] > 0
        assert p["v2"]["output_chars"] == len(p["v2"]["text"]) > 0
    assert totals["v2"]["models"]
    page = html.read_text()
    assert page.startswith("<!doctype html>") and page.count("<svg") == 3
    assert "http" not in page.split("<body>", 1)[1].replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


def test_compare_json_on_stdout(simulator_env: str, tmp_path: Path) -> None:
    args = ["compare", "--old-model", "claude-sonnet", "--prompts", str(prompts_file(tmp_path)),
            "--json", "--limit", "1"]  # fmt: skip

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["node"] == "writer"
    assert report["v1"]["model"] == "claude-sonnet"
    assert report["prompts"][0]["v1"]["model"] == "claude-sonnet"
    assert report["prompts"][0]["v1"]["cost_usd"] > 0


def test_bad_prompts_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "ok"}\n{"nope": 1}\n', encoding="utf-8")

    result = CliRunner().invoke(app, ["compare", "--old-model", "gemini-2.5-pro",
                                      "--prompts", str(path)])  # fmt: skip

    assert result.exit_code == 1
    assert f"{path}:2" in result.output and "unknown field" in result.output


def test_the_guides_script_form_runs_on_the_simulator(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENROUTER_API_KEY"}
    env.update(COLUMNS="200", DATABASE_URL="")
    command = [sys.executable, str(ROOT / "scripts" / "compare_writer_outputs.py"),
               "--old-model", "gemini-2.5-pro", "--new-gateway", "--limit", "2",
               "--json-out", str(tmp_path / "r.json")]  # fmt: skip

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr + done.stdout
    assert "SIMULATED provider" in done.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["node"] == "writer" and report["simulated"] is True
    assert len(report["prompts"]) == 2
    assert report["totals"]["v2"]["failures"] == 0


def test_v2_can_be_a_served_gateway(simulator_env: str, tmp_path: Path) -> None:
    from tests.http.conftest import SimulatedProviders, make_settings
    from tests.http.serving import serve

    from llm_gateway.app import create_app
    from llm_gateway.gateway import build_gateway, set_llm_gateway
    from llm_gateway.routes.deps import reset_process_services

    settings = make_settings(tmp_path, DATABASE_URL="")
    gateway = build_gateway(settings, providers=SimulatedProviders())
    args = ["compare", "--old-model", "deepseek-chat", "--prompts", str(prompts_file(tmp_path)),
            "--json", "--limit", "2"]  # fmt: skip
    try:
        with serve(create_app(settings, gateway=gateway)) as (url, _):
            result = CliRunner().invoke(app, [*args, "--gateway-url", url])
    finally:
        set_llm_gateway(None)
        reset_process_services()

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["v2"]["path"] == f"the gateway at {url}"
    assert all(p["v2"]["ok"] and p["v2"]["model"] for p in report["prompts"])
    assert report["totals"]["v2"]["requests"] == 2
