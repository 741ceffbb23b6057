"""The policy registry: look-ups, filters, and reload's atomic swap that keeps the last good
snapshot."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.config.configdir import baseline, model, write

from llm_gateway.config.catalog import Catalog
from llm_gateway.errors import ConfigError, NotFound
from llm_gateway.model_policy import (
    Capability,
    CostTier,
    ModelPolicyRegistry,
    get_model_policy_registry,
    set_model_policy_registry,
)
from llm_gateway.settings import reset_settings_cache


@pytest.fixture
def registry(tmp_path: Path) -> ModelPolicyRegistry:
    return ModelPolicyRegistry(write(tmp_path))


def test_all_policies_keyed_by_logical_id_and_read_only(registry: ModelPolicyRegistry) -> None:
    policies = registry.get_all_policies()
    assert list(policies) == ["alpha", "beta"]
    assert policies["beta"].logical_id == "beta"
    assert policies["beta"].cost_tier is CostTier.HIGH
    with pytest.raises(TypeError):
        policies["gamma"] = policies["alpha"]  # type: ignore[index]


def test_lookups(registry: ModelPolicyRegistry) -> None:
    assert registry.get_policy("alpha").provider == "openrouter"
    assert registry.find_policy("nope") is None
    with pytest.raises(NotFound) as caught:
        registry.get_policy("nope")
    assert caught.value.status_code == 404
    assert registry.find_by_provider_model_id("vendor/model") is registry.get_policy("alpha")
    assert registry.get_node("writer") is not None
    assert registry.fallback_chain("alpha") == ("beta",)


def test_filters_by_capability_tier_and_context(tmp_path: Path) -> None:
    policies, nodes = baseline()
    policies["policies"]["long"] = model(context_window=1_000_000, cost_tier="MEDIUM")
    policies["policies"]["off"] = model(enabled=False)
    registry = ModelPolicyRegistry(write(tmp_path, policies, nodes))
    ids = lambda ps: [p.logical_id for p in ps]  # noqa: E731
    assert ids(registry.filter_policies(capabilities=["reasoning"])) == ["beta"]
    assert ids(registry.filter_policies(max_cost_tier="MEDIUM")) == ["alpha", "long"]
    assert ids(registry.filter_policies(max_cost_tier=CostTier.LOW)) == ["alpha"]
    assert ids(registry.filter_policies(min_context_window=500_000)) == ["long"]
    assert ids(registry.filter_policies(capabilities=[Capability.FUNCTION_CALLING])) == [
        "alpha",
        "long",
    ]
    assert "off" in ids(registry.filter_policies(include_disabled=True))
    assert ids(registry.policies_with_capability("streaming")) == ["alpha", "beta", "long"]
    assert ids(registry.policies_by_tier("HIGH")) == ["beta"]


def test_tiers_are_ordered() -> None:
    assert CostTier.LOW < CostTier.MEDIUM < CostTier.HIGH < CostTier.PREMIUM
    assert sorted([CostTier.PREMIUM, CostTier.LOW, CostTier.HIGH, CostTier.MEDIUM]) == [
        CostTier.LOW,
        CostTier.MEDIUM,
        CostTier.HIGH,
        CostTier.PREMIUM,
    ]
    assert CostTier.MEDIUM <= "HIGH"  # never the alphabetical order of the names
    with pytest.raises(TypeError):
        _ = CostTier.LOW < "CHEAP"


def test_invalid_files_at_start_up_raise_every_issue(tmp_path: Path) -> None:
    policies, nodes = baseline()
    policies["policies"]["alpha"]["fallback_models"] = ["x", "y"]
    with pytest.raises(ConfigError) as caught:
        ModelPolicyRegistry(write(tmp_path, policies, nodes))
    assert len(caught.value.issues) == 2


def test_reload_swaps_snapshot_and_notifies(tmp_path: Path) -> None:
    directory = write(tmp_path)
    registry = ModelPolicyRegistry(directory)
    seen: list[Catalog] = []
    registry.subscribe(seen.append)
    before = registry.catalog
    policies, nodes = baseline()
    policies["policies"]["gamma"] = model()
    write(directory, policies, nodes)
    assert registry.reload() == []
    assert registry.catalog is not before
    assert registry.version != before.version
    assert "gamma" in registry.get_all_policies()
    assert "gamma" not in before.policies  # the old snapshot was never mutated
    assert seen == [registry.catalog]


def test_reload_of_invalid_files_keeps_last_good_and_returns_issues(tmp_path: Path) -> None:
    directory = write(tmp_path)
    registry = ModelPolicyRegistry(directory)
    seen: list[Catalog] = []
    registry.subscribe(seen.append)
    good = registry.catalog
    policies, nodes = baseline()
    policies["policies"]["alpha"]["fallback_models"] = ["gpt-5"]
    write(directory, policies, nodes)
    issues = registry.reload()
    assert [str(i) for i in issues] == [
        "model_policies.yaml: policies.alpha.fallback_models[0]: unknown model 'gpt-5'"
    ]
    assert registry.catalog is good
    assert seen == []


def test_failing_listener_does_not_block_others_or_the_swap(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = ModelPolicyRegistry(write(tmp_path))

    def broken(_: Catalog) -> None:
        raise RuntimeError("listener bug")

    seen: list[Catalog] = []
    registry.subscribe(broken)
    unsubscribe = registry.subscribe(seen.append)
    assert registry.reload() == []
    assert seen == [registry.catalog]
    assert "listener bug" in caplog.text
    unsubscribe()
    assert registry.reload() == []
    assert len(seen) == 1


def test_readers_never_see_a_mixed_snapshot_during_reloads(tmp_path: Path) -> None:
    """Readers take one snapshot per operation; while a writer alternates two valid configs,
    every snapshot is wholly one or the other (its policies match its version)."""
    directory = write(tmp_path)
    registry = ModelPolicyRegistry(directory)
    small = registry.catalog
    policies, nodes = baseline()
    policies["policies"].update({f"m{i}": model() for i in range(20)})
    write(directory, policies, nodes)
    assert registry.reload() == []
    large = registry.catalog
    expected = {small.version: len(small.policies), large.version: len(large.policies)}
    stop = threading.Event()
    errors: list[str] = []

    def read() -> None:
        while not stop.is_set():
            snapshot = registry.catalog
            if expected.get(snapshot.version) != len(snapshot.policies):
                errors.append(snapshot.version)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    deadline = time.monotonic() + 1.0
    for round_ in range(12):  # bounded in count and in time
        if time.monotonic() > deadline:
            break
        if round_ % 2:
            write(directory, policies, nodes)
        else:
            write(directory)
        assert registry.reload() == []
    stop.set()
    for thread in readers:
        thread.join(timeout=5)
    assert errors == []


@pytest.fixture
def process_registry() -> Iterator[None]:
    set_model_policy_registry(None)
    reset_settings_cache()
    yield
    set_model_policy_registry(None)
    reset_settings_cache()


def test_process_registry_reads_the_configured_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, process_registry: None
) -> None:
    policies, nodes = baseline()
    policies["policies"]["only-here"] = model()
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(write(tmp_path, policies, nodes)))
    registry = get_model_policy_registry()
    assert registry is get_model_policy_registry()
    assert "only-here" in registry.get_all_policies()
    assert registry.config_dir == tmp_path
