"""llm-gateway: a pluggable, capability-aware LLM gateway.

The public entry points are the ``get_*()`` accessors of the modules the migration guide imports:
``gateway.get_llm_gateway``, ``model_policy.get_model_policy_registry``,
``model_selector.get_model_selector``, ``tracing.get_tracer`` and
``node_integration.get_node_client_factory``.
"""

__version__ = "0.1.0"
