from collections.abc import Iterator

import pytest

from llm_gateway.settings import reset_settings_cache

pytest_plugins = ["llm_gateway.simulator.pytest_plugin"]


@pytest.fixture(autouse=True)
def _fresh_process_settings() -> Iterator[None]:
    """Each test reads the environment afresh: settings cached by one test (the process-wide
    ``get_settings()``) must not decide what the next one sees."""
    reset_settings_cache()
    yield
    reset_settings_cache()
