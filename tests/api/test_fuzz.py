"""Schema-driven fuzzing of the whole API (schemathesis, from our own OpenAPI document): no
response is a 5xx, and every response matches the status codes and schemas the docs promise."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from recsys.api.app import create_app
from recsys.service import Recommendations

APP = create_app()  # the schema needs no model; the service is set before the calls
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)

# Checks the schema cannot state: a genre the catalogue lacks, a year range that ends before it
# starts. Any other 4xx for schema-valid data is still a failure.
BEYOND_THE_SCHEMA = {("query", "genre"), ("query", "year_min")}


@schemathesis.check
def valid_data_is_accepted(ctx, response, case):
    if response.status_code == 422:
        locs = {tuple(error["loc"]) for error in response.json()["detail"]}
        if locs <= BEYOND_THE_SCHEMA:
            return None
    return positive_data_acceptance(ctx, response, case)


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
    case.call_and_validate(
        excluded_checks=[positive_data_acceptance], additional_checks=[valid_data_is_accepted]
    )
