"""``llm-gateway bench``: the gateway side by side with the direct upstream and LiteLLM's proxy,
and the soak. Usage and method: ``bench/README.md``; results: ``docs/performance.md``.

    mock_upstream   fast OpenAI-compatible upstream (JSON and SSE, delays)   core 1
    http_client     lean keep-alive HTTP/1.1 client connection (httptools)
    loadgen         closed-loop callers, bounded in requests and seconds      core 1
    procs           servers pinned with taskset; CPU, RSS, fds from /proc
    targets         direct / gateway endpoints and the gateway's config dir   core 0
    litellm_runner  LiteLLM's proxy in bench/.litellm-venv                    core 0
    harness, sweep  start everything, run every cell, stop everything
    stats, compare, goals      percentiles, added latency, ratios, the targets
    results, tables, report    the values, their tables, terminal/JSON/markdown
    history, plots             docs/performance.md over time, matplotlib figures
    soak, soak_report, probe   the long run sampling RSS, fds, asyncio tasks, Redis
"""
