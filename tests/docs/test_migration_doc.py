"""docs/migration.md's Phase 1.2 commands, run as the page shows them: the guide's files fail
``llm-gateway validate`` with exactly the errors the page quotes, and the page's fix validates
(and lets the guide's writer override through), and with the page's additions for the later
phases the guide's Phase 2 code runs on them.

The blocks are the ones after ``<!-- migration-doc: NAME -->`` markers, run with bash in an
empty directory, with this environment's ``llm-gateway`` first on the PATH.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from llm_gateway.config.loader import load_catalog
from llm_gateway.model_selector import SelectionContext
from llm_gateway.selection.constraints import hard_constraint_failures, merge_requirements

DOC = Path(__file__).resolve().parents[2] / "docs" / "migration.md"
BLOCK = re.compile(r"<!-- migration-doc: (?P<name>[\w.-]+) -->\n```\w+\n(?P<body>.*?)\n```\n", re.S)


def doc_blocks() -> dict[str, str]:
    return {m["name"]: m["body"] for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))}


def run_bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "160",
    }
    env.pop("GATEWAY_CONFIG_DIR", None)
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def blocks() -> dict[str, str]:
    found = doc_blocks()
    names = {"guide-1.2", "guide-1.2-errors", "guide-1.2-fix", "guide-1.2-phases", "phase-2"}
    assert names | {"phase-3"} <= set(found)
    return found


def test_the_guides_files_fail_as_quoted(tmp_path: Path, blocks: dict[str, str]) -> None:
    result = run_bash(blocks["guide-1.2"], tmp_path)
    assert result.returncode == 1
    printed = result.stdout.splitlines() + result.stderr.splitlines()
    assert printed == blocks["guide-1.2-errors"].splitlines()


def test_the_fix_validates(tmp_path: Path, blocks: dict[str, str]) -> None:
    assert run_bash(blocks["guide-1.2"], tmp_path).returncode == 1
    fixed = run_bash(blocks["guide-1.2-fix"], tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    config = tmp_path / "backend" / "config"
    report = run_bash(f"llm-gateway validate --config-dir {config} --json", tmp_path)
    picks = {node["node"]: node["pick"] for node in json.loads(report.stdout)["nodes"]}
    assert picks == {
        "writer": "gemini-2.5-pro",
        "evaluator": "claude-sonnet",
        "search_perplexity": "perplexity-sonar",
    }
    # The guide's own admin example, PUT /policies/writer {"model_id": "claude-sonnet"}, is
    # refused on the guide's files and allowed on the fixed ones (the endpoint's check).
    catalog = load_catalog(config)
    writer = merge_requirements(catalog, SelectionContext(node_name="writer"))
    assert hard_constraint_failures(catalog.policies["claude-sonnet"], writer) == []


PRINT_ANSWER = """
answer = model_client.invoke("Format this as a list: a, b")
print(answer.response_metadata["gateway_arm"], answer.response_metadata["model_name"])
"""


def test_the_later_phases_run_on_the_completed_files(
    tmp_path: Path, blocks: dict[str, str]
) -> None:
    """With the page's additions the guide's own files serve Phases 2 and 4: the "Before"
    model exists for v1, and the nodes they migrate have their requirements."""
    run_bash(blocks["guide-1.2"], tmp_path)
    assert run_bash(blocks["guide-1.2-fix"], tmp_path).returncode == 0
    completed = run_bash(blocks["guide-1.2-phases"], tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    config = tmp_path / "backend" / "config"
    report = run_bash(f"llm-gateway validate --config-dir {config} --json", tmp_path)
    picks = {node["node"]: node["pick"] for node in json.loads(report.stdout)["nodes"]}
    assert picks == {
        "writer": "gemini-2.5-pro",
        "evaluator": "claude-sonnet",
        "search_perplexity": "perplexity-sonar",
        "formatter": "gemini-2.5-pro",
        "search_*": "perplexity-sonar",
        "qa_*": "claude-sonnet",
        "citation_master": "claude-sonnet",
    }

    before, after = blocks["phase-2"].split("# After")
    script = before + PRINT_ANSWER + "# After" + after + PRINT_ANSWER
    env = {
        "PATH": os.environ.get("PATH", ""),
        "GATEWAY_SIMULATE": "true",
        "GATEWAY_CONFIG_DIR": str(config),
        "DATABASE_URL": "",
    }
    ran = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["v1 gemini-2.5-flash", "v2 gemini-2.5-pro"]
