"""deploy/docker-compose.yml, checked without Docker: valid against the Compose Specification's
JSON schema (the copy check-jsonschema vendors, `--builtin-schema vendor.compose-spec`), and the
topology docs/deployment.md describes — three replicas behind nginx that wait for the one-shot
migration, Redis and PostgreSQL, with the gateway's real variable names."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml
from tests.deploy.tools import tool

from llm_gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
NGINX_CONF = DEPLOY / "nginx" / "nginx.conf"
REPLICAS = ("gateway-1", "gateway-2", "gateway-3")


def check_against_compose_schema(path: Path) -> subprocess.CompletedProcess[str]:
    checker = tool("check-jsonschema", installed_by="the dev extra's check-jsonschema")
    return subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def test_the_compose_file_is_valid_against_the_compose_schema() -> None:
    result = check_against_compose_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_a_broken_compose_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    text = COMPOSE.read_text().replace("service_completed_successfully", "service_finished", 1)
    broken.write_text(text)
    result = check_against_compose_schema(broken)
    assert result.returncode != 0
    assert "service_finished" in result.stdout + result.stderr


def test_three_replicas_wait_for_the_migration_redis_and_postgres() -> None:
    found = services()
    assert set(found) == {*REPLICAS, "migrate", "nginx", "redis", "postgres"}
    assert found["migrate"]["command"] == ["db", "upgrade"]
    assert found["migrate"]["restart"] == "no"
    for name in REPLICAS:
        replica = found[name]
        assert replica["command"] == ["serve"]
        assert replica["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "redis": {"condition": "service_healthy"},
            "postgres": {"condition": "service_healthy"},
        }
        assert "/readyz" in " ".join(replica["healthcheck"]["test"])
        assert replica["read_only"] is True and replica["cap_drop"] == ["ALL"]
        assert f"{name}-data:/app/data" in replica["volumes"]
        assert "ports" not in replica, "only nginx is published"
    assert {name: found["nginx"]["depends_on"][name]["condition"] for name in REPLICAS} == {
        name: "service_healthy" for name in REPLICAS
    }
    assert (DEPLOY / found["nginx"]["volumes"][0].split(":")[0]).resolve() == NGINX_CONF


def test_every_variable_the_replicas_get_is_one_the_gateway_reads() -> None:
    found = services()
    environment = found["gateway-1"]["environment"]
    assert all(found[name]["environment"] == environment for name in (*REPLICAS, "migrate"))
    assert set(environment) - set(Settings.model_fields) == set()
    assert environment["REDIS_URL"] == "redis://redis:6379/0"
    assert environment["DATABASE_URL"].startswith("postgresql+asyncpg://gateway:")
    assert environment["DATABASE_URL"].endswith("@postgres:5432/llm_gateway")
    assert environment["GATEWAY_DB_AUTO_MIGRATE"] == "false", "the migrate job does it, once"
    assert re.search(r"\$\{GATEWAY_ADMIN_TOKEN:\?", environment["GATEWAY_ADMIN_TOKEN"])
    postgres = found["postgres"]["environment"]
    assert (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"]) == ("gateway", "llm_gateway")


def interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}``, with ``given`` set."""

    def one(match: re.Match[str]) -> str:
        name, operator, operand = match.group(1), match.group(2), match.group(3) or ""
        if name in given:
            return given[name]
        if operator == ":?":
            raise AssertionError(f"{name} is required: {operand}")
        return operand

    return re.sub(r"\$\{([A-Z][A-Z0-9_]*)(:-|:\?)?([^}]*)\}", one, value)


def test_the_replicas_environment_is_one_the_gateway_accepts() -> None:
    given = {"GATEWAY_ADMIN_TOKEN": "compose-admin-token-0123456789", "POSTGRES_PASSWORD": "pw"}
    raw = services()["gateway-1"]["environment"]
    env = {name: interpolate(str(value), given) for name, value in raw.items()}
    settings = Settings(_env_file=None, **env)  # type: ignore[call-arg]
    assert settings.GATEWAY_ENV == "production" and not settings.use_simulator
    assert settings.database_url == "postgresql+asyncpg://gateway:pw@postgres:5432/llm_gateway"
    assert settings.GATEWAY_PORT == 8000 and settings.config_dir == Path("/app/config")
    try:
        interpolate(str(raw["GATEWAY_ADMIN_TOKEN"]), {})
    except AssertionError as exc:
        assert "set GATEWAY_ADMIN_TOKEN in deploy/.env" in str(exc)
    else:
        raise AssertionError("compose must insist on GATEWAY_ADMIN_TOKEN")


def test_the_build_and_the_example_environment_match_the_repository() -> None:
    build = yaml.safe_load(COMPOSE.read_text())["x-gateway-image"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert context == ROOT and (context / build["dockerfile"]).is_file()
    example = (DEPLOY / ".env.example").read_text()
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, re.MULTILINE))
    assert names - set(Settings.model_fields) == {"POSTGRES_PASSWORD"}
    referenced = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)[:?}-]", COMPOSE.read_text()))
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", COMPOSE.read_text()))
    assert required <= names, "every variable compose insists on is in .env.example"
    assert referenced >= required


def test_nginx_sends_to_each_replica_on_the_gateway_port() -> None:
    upstreams = re.findall(r"^\s*server (\S+):(\d+);", NGINX_CONF.read_text(), re.MULTILINE)
    port = str(Settings.model_fields["GATEWAY_PORT"].default)
    assert upstreams == [(name, port) for name in REPLICAS]
