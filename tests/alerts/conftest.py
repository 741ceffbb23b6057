"""Alert tests use the state tests' Redis key prefix and PostgreSQL database fixtures."""

from tests.state.conftest import pg_url, redis_prefix

__all__ = ["pg_url", "redis_prefix"]
