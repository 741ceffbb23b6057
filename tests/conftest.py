pytest_plugins = ["llm_gateway.simulator.pytest_plugin"]
