"""The response cache: exact-match answers for deterministic requests, opt-in per node
(``cache: {ttl_s: …}`` in ``node_requirements.yaml``) or per request (``X-Gateway-Cache``).

:mod:`~llm_gateway.cache.directive` reads the header, :mod:`~llm_gateway.cache.store` decides
and keeps entries, :mod:`~llm_gateway.cache.replay` answers from one."""
