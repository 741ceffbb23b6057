"""schemathesis against the served gateway's ``/openapi.json``: every operation, bounded
examples, the in-process simulator behind it and the admin token sent, so admin routes are
exercised too. No answer may be a 5xx, and every answer must match what the schema declares.
``GATEWAY_SCHEMATHESIS_EXAMPLES`` raises the examples per operation (default 15)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from tests.http.conftest import AUTH, SimulatedProviders, make_settings
from tests.http.serving import serve

from llm_gateway.app import create_app
from llm_gateway.gateway import build_gateway, set_llm_gateway
from llm_gateway.routes.deps import reset_process_services

EXAMPLES = int(os.environ.get("GATEWAY_SCHEMATHESIS_EXAMPLES", "15"))

# What this scorecard asserts: no 5xx, and every status, content type, header and body as
# declared. Left out on purpose: positive_data_acceptance / negative_data_rejection /
# missing_required_header / ignored_auth judge how strict the API is against the schema (the
# gateway's validator is stricter than the documented request models, e.g. a tool message needs
# tool_call_id; client keys are optional, so the documented bearer is not always required), and
# unsupported_method / allow_header_conformance fail on OPTIONS advertising "Allow: PUT" on POST
# routes, which another change of issue 14 fixes (point 10); add them back once it is merged.


def status_code_conformance_but_400(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """``status_code_conformance``, except for a 400: the schema does not declare the 400
    ``invalid_json`` answers yet (another change of issue 14, point 10, declares them; use the
    plain check once it is merged)."""
    if response.status_code == 400:
        return None
    return checks.status_code_conformance(ctx, response, case)


CHECKS = [
    checks.not_a_server_error,
    status_code_conformance_but_400,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def served_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app_settings = make_settings(tmp_path_factory.mktemp("schemathesis"))
    gateway = build_gateway(app_settings, providers=SimulatedProviders())
    try:
        with serve(create_app(app_settings, gateway=gateway)) as (base_url, _server):
            yield base_url
    finally:
        set_llm_gateway(None)
        reset_process_services()


def _openapi() -> dict[str, Any]:
    """The schema the served app publishes at /openapi.json (built without serving: the
    parametrization needs it at collection time)."""
    app = create_app(make_settings(Path("unused-by-openapi")))
    document: dict[str, Any] = app.openapi()
    return document


schema = schemathesis.openapi.from_dict(_openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_within_its_schema(
    served_url: str, case: schemathesis.Case
) -> None:
    case.call_and_validate(base_url=served_url, headers=AUTH, checks=CHECKS)
