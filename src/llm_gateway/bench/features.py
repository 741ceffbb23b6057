"""Gateway switches under test, passed to the gateway as environment variables.

``--features`` takes preset names and ``KEY=VALUE`` pairs, comma-separated or repeated; later
entries override earlier ones. The default is ``off``: the targets of the issue are for the
gateway alone; later work is held to half of them with ``all``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from llm_gateway.bench.errors import BenchError

_TRACE_ALL = {"ENABLE_MODEL_TRACING": "true", "GATEWAY_TRACE_SAMPLING_RATE": "1.0"}
# The guide's alerts.yaml, shipped in the package: evaluated every few seconds under load.
GUIDE_ALERTS = str(Path(__file__).resolve().parents[1] / "alerts" / "guide_alerts.yaml")
# The guide's gradual rollback, shipped in the package: the guard evaluates under load.
GUIDE_GUARD = str(Path(__file__).resolve().parents[1] / "rollout" / "guide_guard.yaml")
BENCH_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/llm_gateway_bench"

PRESETS: dict[str, dict[str, str]] = {
    # The bare request path: no tracing, no record store.
    "off": {
        "ENABLE_MODEL_TRACING": "false",
        "GATEWAY_TRACE_SAMPLING_RATE": "0",
        "DATABASE_URL": "",
    },
    # The ledger and every trace in the record store: a SQLite file (the bench's own) ...
    "ledger-sqlite": dict(_TRACE_ALL),
    # ... or PostgreSQL on this machine (a database the bench creates afresh for the run).
    "ledger-postgres": {
        **_TRACE_ALL,
        "DATABASE_URL": BENCH_PG_URL,
        "GATEWAY_DB_AUTO_MIGRATE": "true",
    },
    # Everything a production deployment switches on that runs on this machine.
    "all": {
        "ENABLE_MODEL_TRACING": "true",
        "GATEWAY_TRACE_SAMPLING_RATE": "1.0",
        "ENABLE_COST_OPTIMIZATION": "true",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        # budgets.yaml with caps no run reaches (bench/targets.py writes it)
        "BENCH_BUDGETS": "generous",
        "GATEWAY_ALERTS_FILE": GUIDE_ALERTS,
        "GATEWAY_ALERTS_INTERVAL_S": "5",
        # rpm and tpm on every model, node and client key (far above the load: none refused)
        "BENCH_RATE_LIMITS": "true",
        # the rollback guard comparing the arms on the ledger every few seconds
        "GATEWAY_ROLLOUT_FILE": GUIDE_GUARD,
        "GATEWAY_ROLLOUT_GUARD_INTERVAL_S": "5",
    },
}
DEFAULT = ("off",)


def parse_features(entries: Iterable[str]) -> dict[str, str]:
    """Presets and ``KEY=VALUE`` pairs → the env to add. Raises BenchError on an unknown name."""
    env: dict[str, str] = {}
    for entry in entries:
        for item in (part.strip() for part in entry.split(",")):
            if not item:
                continue
            if "=" in item:
                key, value = item.split("=", 1)
                env[key.strip()] = value.strip()
            elif item in PRESETS:
                env.update(PRESETS[item])
            else:
                known = ", ".join(sorted(PRESETS))
                raise BenchError(f"unknown feature preset {item!r} (known: {known}, or KEY=VALUE)")
    return env
