"""A LangGraph writing pipeline on the gateway's node clients: search → writer → evaluator →
formatter, the evaluator able to send the draft back to the writer once.

Every node asks the gateway through ``llm_gateway.node_integration`` for what it needs — the
gateway picks each node's model, and its ledger records what each call cost. Run it on the
built-in simulator with ``make example`` (README.md beside this file).
"""
