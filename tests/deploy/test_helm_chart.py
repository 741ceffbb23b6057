"""deploy/helm/llm-gateway rendered as ``helm template`` renders it (tests/deploy/helm_render.py
says by what), and the manifests checked: each valid against Kubernetes' own schemas
(kubernetes-validate, strict), the kinds there, probes on /readyz and /healthz on the gateway's
port, selectors matching the pod labels, resources and a locked-down security context on every
container, the migration as a hook before the pods, and values.schema.json refusing bad values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from tests.deploy.helm_render import CHART, RenderError, lint, render

from llm_gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "OPENROUTER_API_KEY": "sk-or-chart-test-0000",
    "GATEWAY_ADMIN_TOKEN": "chart-admin-token-0123456789",
    "REDIS_URL": "redis://redis:6379/0",
    "DATABASE_URL": "postgresql+asyncpg://gateway:pw@postgres:5432/llm_gateway",
}
VALUES: dict[str, Any] = {
    "secret": {"existingSecret": "", "values": SECRETS},
    "serviceMonitor": {"enabled": True},
}
KUBERNETES_VERSION = "1.30.0"


def by_kind(manifests: list[dict]) -> dict[str, list[dict]]:
    kinds: dict[str, list[dict]] = {}
    for manifest in manifests:
        kinds.setdefault(manifest["kind"], []).append(manifest)
    return kinds


def one(manifests: list[dict], kind: str) -> dict:
    found = by_kind(manifests)[kind]
    assert len(found) == 1, f"{len(found)} {kind}"
    return found[0]


def containers(manifest: dict) -> list[dict]:
    return list(manifest["spec"]["template"]["spec"]["containers"])


@pytest.fixture(scope="module")
def manifests() -> list[dict]:
    return render(VALUES)


def test_the_chart_renders_every_kind(manifests: list[dict]) -> None:
    assert sorted(by_kind(manifests)) == [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Job",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "ServiceAccount",
        "ServiceMonitor",
    ]
    without_monitor = render({**VALUES, "serviceMonitor": {"enabled": False}})
    assert "ServiceMonitor" not in by_kind(without_monitor)


def test_every_manifest_is_valid_for_kubernetes(manifests: list[dict]) -> None:
    for manifest in manifests:
        if manifest["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # a CRD: no schema in Kubernetes' own set (checked below)
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_a_manifest_kubernetes_would_refuse_is_caught(manifests: list[dict]) -> None:
    service = one(manifests, "Service")
    broken = {**service, "spec": {**service["spec"], "ports": [{"port": "eighty"}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_probes_hit_readyz_and_healthz_on_the_gateway_port(manifests: list[dict]) -> None:
    (gateway,) = containers(one(manifests, "Deployment"))
    ports = {p["name"]: p["containerPort"] for p in gateway["ports"]}
    env = {e["name"]: e.get("value") for e in gateway["env"]}
    assert ports == {"http": int(env["GATEWAY_PORT"])}
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert env["GATEWAY_HOST"] == "0.0.0.0" and env["GATEWAY_WORKERS"] == "1"
    assert gateway["args"] == ["serve"]


def test_selectors_match_the_pod_labels(manifests: list[dict]) -> None:
    deployment = one(manifests, "Deployment")
    selector = deployment["spec"]["selector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector and selector.items() <= pod_labels.items()
    service = one(manifests, "Service")
    assert service["spec"]["selector"] == selector
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert one(manifests, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == selector
    target = one(manifests, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    monitor = one(manifests, "ServiceMonitor")
    service_labels = service["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service_labels.items()
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    # The migration's pods are not the gateway's: the Service must not send traffic to them.
    job_labels = one(manifests, "Job")["spec"]["template"]["metadata"]["labels"]
    assert not selector.items() <= job_labels.items()


def test_every_container_has_resources_and_a_locked_down_security_context(
    manifests: list[dict],
) -> None:
    for workload in (one(manifests, "Deployment"), one(manifests, "Job")):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) and resources["limits"]
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True and context["runAsUser"] != 0
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]


def test_the_migration_is_a_hook_that_runs_before_the_pods(manifests: list[dict]) -> None:
    job = one(manifests, "Job")
    secret = one(manifests, "Secret")
    hook = job["metadata"]["annotations"]
    assert hook["helm.sh/hook"] == "pre-install,pre-upgrade"
    (migrate,) = containers(job)
    assert migrate["args"] == ["db", "upgrade"]
    assert migrate["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    # The Secret it reads exists before it: a hook too, with a lower weight.
    assert secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        hook["helm.sh/hook-weight"]
    )
    env = {e["name"]: e["value"] for e in containers(one(manifests, "Deployment"))[0]["env"]}
    assert env["GATEWAY_DB_AUTO_MIGRATE"] == "false"


def test_without_the_migration_job_the_pods_migrate_at_start() -> None:
    rendered = render({**VALUES, "migration": {"enabled": False}})
    assert "Job" not in by_kind(rendered)
    env = {e["name"]: e["value"] for e in containers(one(rendered, "Deployment"))[0]["env"]}
    assert env["GATEWAY_DB_AUTO_MIGRATE"] == "true"


def test_the_config_map_carries_the_policy_files_and_the_secret_the_keys(
    manifests: list[dict],
) -> None:
    config = one(manifests, "ConfigMap")["data"]
    shipped = {p.name: p.read_text() for p in (ROOT / "config").glob("*.yaml")}
    assert config == shipped, "deploy/helm/llm-gateway/files/ is a copy of config/"
    assert sorted(p.name for p in (CHART / "files").iterdir()) == sorted(shipped)
    deployment = one(manifests, "Deployment")
    (gateway,) = containers(deployment)
    env = {e["name"]: e.get("value") for e in gateway["env"]}
    mounts = {m["name"]: m["mountPath"] for m in gateway["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert mounts["config"] == env["GATEWAY_CONFIG_DIR"] == "/app/config"
    assert volumes["config"]["configMap"]["name"] == one(manifests, "ConfigMap")["metadata"]["name"]
    assert mounts["data"] == "/app/data" and "emptyDir" in volumes["data"]
    secret = one(manifests, "Secret")
    assert secret["stringData"] == SECRETS
    assert set(env) | set(secret["stringData"]) <= set(Settings.model_fields)


def test_the_pods_environment_is_one_the_gateway_accepts(manifests: list[dict]) -> None:
    (gateway,) = containers(one(manifests, "Deployment"))
    env = {e["name"]: e["value"] for e in gateway["env"]}
    env.update(one(manifests, "Secret")["stringData"])
    settings = Settings(_env_file=None, **env)  # type: ignore[call-arg]
    assert settings.GATEWAY_ENV == "production" and settings.GATEWAY_LOG_FORMAT == "json"
    assert settings.database_url == SECRETS["DATABASE_URL"]
    assert settings.REDIS_URL is not None


def test_a_policy_file_given_in_values_replaces_the_shipped_one() -> None:
    text = "policies: {}\n"
    rendered = render({**VALUES, "config": {"files": {"model_policies.yaml": text}}})
    data = one(rendered, "ConfigMap")["data"]
    assert data["model_policies.yaml"] == text and "node_requirements.yaml" in data


def test_without_autoscaling_the_deployment_has_the_replica_count() -> None:
    rendered = render({**VALUES, "autoscaling": {**_defaults("autoscaling"), "enabled": False}})
    assert "HorizontalPodAutoscaler" not in by_kind(rendered)
    assert one(rendered, "Deployment")["spec"]["replicas"] == 3


def test_an_existing_secret_is_used_instead_of_one_of_the_charts() -> None:
    rendered = render({"secret": {"existingSecret": "gateway-keys", "values": {}}})
    assert "Secret" not in by_kind(rendered)
    for workload in (one(rendered, "Deployment"), one(rendered, "Job")):
        assert containers(workload)[0]["envFrom"] == [{"secretRef": {"name": "gateway-keys"}}]


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"replicaCount": "three"}, "/replicaCount"),
        ({"replicas": 3}, "replicas"),
        ({"securityContext": {"runAsNonRoot": False}}, "/securityContext"),
        ({"env": {"GATEWAY_ADMIN_TOKEN": "in-plain-sight"}}, "GATEWAY_ADMIN_TOKEN"),
        ({"service": {"type": "Ingress", "port": 80}}, "/service/type"),
    ],
)
def test_the_values_schema_refuses_bad_values(values: dict[str, Any], named: str) -> None:
    with pytest.raises(RenderError, match=named):
        render({**VALUES, **values})


def test_a_missing_secret_value_is_named() -> None:
    keys = {k: v for k, v in SECRETS.items() if k != "DATABASE_URL"}
    with pytest.raises(RenderError, match=r"secret\.values\.DATABASE_URL is required"):
        render({"secret": {"existingSecret": "", "values": keys}})


def test_helm_lint_strict_is_clean() -> None:
    assert lint(VALUES) == []


def _defaults(key: str) -> dict[str, Any]:
    return dict(yaml.safe_load((CHART / "values.yaml").read_text())[key])
