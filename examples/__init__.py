"""Runnable examples of llm-gateway (each folder has a README)."""
