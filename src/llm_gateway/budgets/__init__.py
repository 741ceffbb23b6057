"""Budgets (``budgets.yaml``): spending caps per hour, day or month for the gateway, a node, a
client key or a model, reserved before each call and settled after it, shared by every replica
through leases on the state store.

    config.py          the file's format, scopes, amounts in nano-USD
    periods.py         hour / day / month windows (UTC)
    counters.py        the shared counters' contract and the memory backend
    redis_counters.py  the same algorithm as Lua scripts on Redis
    local.py           one replica's lease on one counter
    estimate.py        what a request may cost (its reservation)
    manager.py         the admission hook: reserve, settle, refuse, warn
    syncer.py          syncs with the shared counters, rebuilds from the ledger, fail modes
    report.py          GET /budgets
    runtime.py         wiring into a serving gateway
"""
