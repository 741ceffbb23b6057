"""Rendering deploy/helm/llm-gateway as ``helm template`` does, with what this machine has.

No Go toolchain reaches the Go module proxy here, so ``go install helm.sh/helm/v3/cmd/helm``
cannot run; the chart is rendered by a ``helm`` binary when one is on PATH, else by Helm's own
Go SDK (v4) through the PyPI package helm-python-sdk (``make deploy-tools`` installs it; 75 MB,
so it is not in the dev lock). With neither, the test is skipped saying so — never faked.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "llm-gateway"
MISSING = (
    "neither a helm binary nor helm-python-sdk is installed: `make deploy-tools` installs the "
    "SDK (Helm's Go SDK as a 75 MB wheel); see docs/deployment.md"
)


class RenderError(Exception):
    """Helm refused the values or a template; the message is Helm's."""


def engine() -> str:
    """``"helm"`` (the binary), ``"helm-python-sdk"``, or a skip naming what is missing."""
    if shutil.which("helm"):
        return "helm"
    try:
        import helm_python  # noqa: F401
    except ImportError:
        pytest.skip(MISSING)
    return "helm-python-sdk"


def render(values: dict[str, Any], *, release: str = "gw", namespace: str = "llm") -> list[dict]:
    """Every manifest the chart renders for ``values`` (hooks included, NOTES.txt not), parsed.
    Raises RenderError with Helm's message when Helm refuses."""
    if engine() == "helm":
        texts = [_helm_cli(["template", release, str(CHART), "--namespace", namespace], values)]
    else:
        import helm_python

        try:
            chart = helm_python.Chart.load(str(CHART))
            rendered = chart.render(values, name=release, namespace=namespace, is_install=True)
        except helm_python.HelmError as exc:
            raise RenderError(str(exc)) from None
        texts = [text for path, text in sorted(rendered.items()) if path.endswith(".yaml")]
    return [doc for text in texts for doc in yaml.safe_load_all(text) if doc]


def lint(values: dict[str, Any]) -> list[str]:
    """``helm lint --strict``: its warnings and errors (empty: clean)."""
    if engine() == "helm":
        try:
            _helm_cli(["lint", "--strict", str(CHART)], values)
        except RenderError as exc:
            return [str(exc)]
        return []
    import helm_python

    report = helm_python.lint(str(CHART), values, strict=True)
    findings = [m["error"] for m in report["messages"] if m["severity"] >= 2]
    return findings + list(report["errors"])


def _helm_cli(arguments: list[str], values: dict[str, Any]) -> str:
    result = subprocess.run(
        ["helm", *arguments, "--values", "-"],
        input=json.dumps(values),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RenderError(result.stderr)
    return result.stdout
