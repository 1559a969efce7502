"""Property-based fuzzing of the live service against its own OpenAPI schema."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from evotune.evaluation import BackgroundServer, ServiceSettings, create_app

# The schema is taken from an app built the same way as the live one (no workers start), since
# schemathesis' fixture-based loader fails under this pytest ('Function' has no '_nodeid');
# the first test checks that the live service publishes exactly this schema.
_SETTINGS = ServiceSettings(
    datasets=("digits=sklearn:digits:validation", "diabetes=sklearn:diabetes:validation"),
    token="unused",
)
_SCHEMA_DICT = create_app(_SETTINGS).openapi()
schema = schemathesis.openapi.from_dict(_SCHEMA_DICT)


def test_the_live_service_publishes_the_fuzzed_schema(service: BackgroundServer) -> None:
    assert httpx.get(f"{service.url}/openapi.json").json() == _SCHEMA_DICT


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_the_schema_allows_makes_the_service_fail(
    case: Any, token: str, service: BackgroundServer
) -> None:
    # Every default check (no 5xx; documented status codes, content types and bodies; auth
    # enforced; unknown methods refused) but one: a schema cannot say "ONNX", so arbitrary
    # binary bodies are schema-valid and rightly refused with 422.
    case.call_and_validate(
        base_url=service.url,
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[positive_data_acceptance],
    )
