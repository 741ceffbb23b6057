"""Reloading and validating hostile or broken config files on a served gateway (real socket).

The files are read in a worker thread with a size cap and an alias-expansion bound, only
regular files are opened, errors never quote the file, and a reload that would leave no model
or drop nodes is refused unless forced; the previous configuration stays live throughout and
other requests keep being answered.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.http.conftest import ADMIN_TOKEN, SimulatedProviders, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import build_gateway, set_llm_gateway
from llm_gateway.routes.deps import reset_process_services

SHIPPED = Path(__file__).resolve().parents[2] / "config"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HELLO = {"model": "writer", "messages": [{"role": "user", "content": "Hello"}]}
# Nine anchors of nine aliases each: 9**9 (387 million) nodes once expanded, in 400 bytes.
ALIAS_BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)),
        "policies: *i",
    ]
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    shutil.copytree(SHIPPED, directory)
    return directory


@pytest.fixture
def url(tmp_path: Path, config: Path) -> Iterator[str]:
    settings = make_settings(tmp_path, GATEWAY_CONFIG_DIR=config)
    gateway = build_gateway(settings, providers=SimulatedProviders())
    try:
        with serve(create_app(settings, gateway=gateway)) as (base, _):
            yield base
    finally:
        set_llm_gateway(None)
        reset_process_services()


def reload(url: str, *, force: bool = False) -> httpx.Response:
    query = "?force=true" if force else ""
    return httpx.post(f"{url}/api/admin/gateway/policies/reload{query}", headers=ADMIN, timeout=30)


def live_version(url: str) -> str:
    return str(httpx.get(f"{url}/api/admin/gateway/health", headers=ADMIN).json()["config_version"])


def test_an_alias_bomb_is_refused_while_requests_keep_being_answered(
    url: str, config: Path
) -> None:
    before = live_version(url)
    (config / "model_policies.yaml").write_text(ALIAS_BOMB)
    answers: list[int] = []
    reloaded: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: reloaded.append(reload(url)))
    thread.start()
    while thread.is_alive() and len(answers) < 50:
        answers.append(httpx.post(f"{url}/v1/chat/completions", json=HELLO, timeout=30).status_code)
    thread.join(timeout=60)
    assert reloaded[0].status_code == 422
    assert "alias" in reloaded[0].text
    assert set(answers) <= {200}
    assert live_version(url) == before
    assert httpx.post(f"{url}/v1/chat/completions", json=HELLO).status_code == 200


def test_a_fifo_is_refused_without_blocking(url: str, config: Path) -> None:
    (config / "node_requirements.yaml").unlink()
    os.mkfifo(config / "node_requirements.yaml")  # nobody ever writes to it
    answer = reload(url)
    assert answer.status_code == 422
    assert "not a regular file" in answer.text
    validate = httpx.get(f"{url}/api/admin/gateway/validate", headers=ADMIN, timeout=30)
    assert validate.status_code == 200
    assert validate.json()["files"]["valid"] is False


def test_a_symlink_to_a_secret_file_never_has_its_content_quoted(
    url: str, config: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "shadow"
    secret.write_text(
        "root:$6$saltsalt$0123456789abcdefSECRETHASH:19000:0:99999:7:::\n"
        "daemon:*:19000:0:99999:7:::\n  bad: [unclosed\n"
    )
    (config / "model_policies.yaml").unlink()
    (config / "model_policies.yaml").symlink_to(secret)
    for answer in (
        reload(url),
        httpx.get(f"{url}/api/admin/gateway/validate", headers=ADMIN, timeout=30),
    ):
        assert "SECRETHASH" not in answer.text
        assert "saltsalt" not in answer.text
        assert "daemon" not in answer.text


def test_an_oversized_file_is_refused(url: str, config: Path) -> None:
    with (config / "model_policies.yaml").open("a") as handle:
        handle.write("# padding\n" * 200_000)  # 2 MB
    answer = reload(url)
    assert answer.status_code == 422
    assert "larger than" in answer.text


def test_an_emptied_policies_file_is_refused_and_reported_by_name(url: str, config: Path) -> None:
    before = live_version(url)
    (config / "model_policies.yaml").write_text("")
    answer = reload(url)
    assert answer.status_code == 422
    assert "model_policies.yaml: the file is empty" in answer.text
    assert live_version(url) == before
    assert httpx.post(f"{url}/v1/chat/completions", json=HELLO).status_code == 200


def test_a_reload_that_drops_nodes_needs_force(url: str, config: Path) -> None:
    (config / "node_requirements.yaml").write_text(
        "nodes:\n  default:\n    required_capabilities: []\n"
    )
    refused = reload(url)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "reload_would_remove"
    assert "evaluator" in refused.text
    nodes = httpx.get(f"{url}/api/admin/gateway/policies", headers=ADMIN).json()
    assert "evaluator" in str(nodes)
    forced = reload(url, force=True)
    assert forced.status_code == 200
    audit = httpx.get(f"{url}/api/admin/gateway/audit", headers=ADMIN).json()
    assert audit["entries"][0]["forced"] is True


def test_issues_are_located_by_file_and_key_path_in_validate_and_reload(
    url: str, config: Path
) -> None:
    before = live_version(url)
    policies = config / "model_policies.yaml"
    good = policies.read_text()
    policies.write_text(good.replace("streaming: true", "streeming: true", 1))
    validate = httpx.get(f"{url}/api/admin/gateway/validate", headers=ADMIN, timeout=30).json()
    answer = reload(url)
    assert answer.status_code == 422
    details = answer.json()["error"]["details"]
    for located, issues in (
        (validate["files"]["located"], validate["files"]["issues"]),
        (details["located"], details["issues"]),
    ):
        assert len(located) == len(issues) == 1
        issue = located[0]
        assert issue["file"] == "model_policies.yaml"
        assert issue["path"].endswith(".capabilities.streeming")
        assert "unknown value 'streeming'" in issue["message"]
        assert issues[0] == f"{issue['file']}: {issue['path']}: {issue['message']}"
    assert live_version(url) == before
    policies.write_text(good)
    validate = httpx.get(f"{url}/api/admin/gateway/validate", headers=ADMIN, timeout=30).json()
    assert validate["files"] == {"valid": True, "issues": [], "located": []}
