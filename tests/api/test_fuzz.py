"""Schema-driven fuzzing of the whole API (schemathesis, from our own OpenAPI document): no
response is a 5xx, and every response matches the status codes and schemas the docs promise."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from recsys.api.app import create_app
from recsys.service import Recommendations

APP = create_app()  # the schema needs no model; the service is set before the calls
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(autouse=True)
def serve(service: Recommendations):
    APP.state.service = service
    yield
    APP.state.service = None


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
def test_no_server_errors_and_responses_match_the_schema(case):
    case.call_and_validate()
