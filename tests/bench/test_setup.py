"""What the bench hands to the servers: the gateway's config dir, LiteLLM's config, features."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llm_gateway.bench.errors import BenchError
from llm_gateway.bench.features import PRESETS, parse_features
from llm_gateway.bench.harness import SweepSettings
from llm_gateway.bench.litellm_runner import write_config
from llm_gateway.bench.loadgen import LoadSpec, Recorder
from llm_gateway.bench.progress import cell_fraction
from llm_gateway.bench.targets import Upstream, gateway_config
from llm_gateway.config.loader import load_catalog

UPSTREAMS = [Upstream(port=18001, delay_ms=0.0), Upstream(port=18002, delay_ms=50.0)]


def test_gateway_config_loads_and_routes_each_model_to_its_mock(tmp_path: Path):
    gateway_config(tmp_path, UPSTREAMS)
    catalog = load_catalog(tmp_path)
    assert set(catalog.policies) == {"bench-d0", "bench-d50"}
    provider = catalog.providers[catalog.policies["bench-d50"].provider]
    assert provider.kind == "openai_compatible"
    assert provider.base_url == "http://127.0.0.1:18002/api/v1"
    assert provider.api_key_env == "BENCH_UPSTREAM_KEY"


def test_litellm_config_names_models_like_the_gateway(tmp_path: Path):
    path = tmp_path / "litellm.yaml"
    write_config(path, UPSTREAMS)
    models = yaml.safe_load(path.read_text())["model_list"]
    assert [m["model_name"] for m in models] == ["bench-d0", "bench-d50"]
    assert models[0]["litellm_params"]["model"] == "openai/bench-model"
    assert models[1]["litellm_params"]["api_base"] == "http://127.0.0.1:18002/api/v1"


def test_features_merge_presets_and_pairs_in_order():
    env = parse_features(["all", "REDIS_URL=redis://127.0.0.1:6379/9,GATEWAY_X = 1"])
    assert env["ENABLE_MODEL_TRACING"] == PRESETS["all"]["ENABLE_MODEL_TRACING"]
    assert env["REDIS_URL"] == "redis://127.0.0.1:6379/9"
    assert env["GATEWAY_X"] == "1"
    assert parse_features([]) == {}
    with pytest.raises(BenchError, match="unknown feature preset 'fast'"):
        parse_features(["fast"])


def test_sweep_covers_every_combination_once():
    cells = SweepSettings().cells()
    assert len(cells) == 16
    assert len(set(cells)) == 16
    assert {c.concurrency for c in cells} == {1, 10, 50, 200}


def test_cell_fraction_follows_the_nearer_bound():
    spec = LoadSpec("127.0.0.1", 1, b"", False, 1, max_requests=100, max_seconds=10.0)
    recorder = Recorder(measure_from=100.0, issued=50)
    assert cell_fraction(spec, recorder, now=99.0) == 0.0
    assert cell_fraction(spec, recorder, now=101.0) == pytest.approx(0.5)
    assert cell_fraction(spec, recorder, now=108.0) == pytest.approx(0.8)
    assert cell_fraction(spec, recorder, now=200.0) == 1.0
