"""schemathesis against the app's own OpenAPI schema: generated requests never get a 5xx, and every answer is one
the schema declares (its status, and a body of its model: a refusal is a ``Problem``).

Runs signed in as an admin (every route open to it), so the generated bodies reach
the handlers instead of stopping at the sign-in check, and as an operator, whose
refusals (403) must be as clean as an admin's answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from station.live import LiveStation
from station.settings import Settings
from tests.web.conftest import as_role
from web.app import create_app
from web.auth import Role

CONFORMANCE = [schemathesis.checks.status_code_conformance, schemathesis.checks.response_schema_conformance]


@pytest.fixture(params=[Role.ADMIN, Role.OPERATOR])
def signed_client(station: LiveStation, request: pytest.FixtureRequest) -> Iterator[tuple[TestClient, dict[str, str]]]:
    # The sign-in's pace out of the way: past it every sign-in waits a second (the tarpit, tested in test_signin), and
    # the fuzzing of the five sign-in routes was two minutes of sleep, reaching no handler.
    app = create_app(Settings(database_url=station.settings.database_url, login_per_minute=1_000_000), station.station, station)
    with TestClient(app) as client:
        yield client, as_role(client, request.param)


def test_no_generated_request_gets_a_server_error(signed_client: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = signed_client
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    failures: list[str] = []
    statuses: list[int] = []
    operations = 0
    for operation in schema.get_all_operations():
        api_operation = operation.ok()
        if api_operation.path == "/api/auth/logout":
            continue  # it would end the session the rest of the run signs in with
        operations += 1
        strategy = api_operation.as_strategy()

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=strategy)
        def check(case: Any) -> None:
            kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
            wanted = {k: v for k, v in kwargs.items() if k in ("method", "url", "params", "json", "headers", "content", "data")}
            if isinstance(wanted.get("data"), bytes | str):  # a raw body (a receipt's file) is content to the client
                wanted["content"] = wanted.pop("data")
            response = client.request(**wanted)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{kwargs['method']} {kwargs['url']}: {response.status_code} {response.text[:200]}")
                return
            try:
                case.validate_response(response, checks=CONFORMANCE)
            except BaseExceptionGroup as exc:  # schemathesis raises a group of the failed checks
                failures.append(f"{kwargs['method']} {kwargs['url']}: {response.status_code} not as declared: {str(exc)[:300]}")

        check()
    assert failures == []
    assert operations >= 15 and len(statuses) >= 5 * operations, "the fuzzing must really have run"
    assert {200, 422} <= set(statuses), "both accepted and refused requests were generated"
