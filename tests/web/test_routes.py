"""Every route refuses anonymous and wrong-role calls: walked from the app's route table, not a hand-picked list."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.web.conftest import as_role
from web.api import PUBLIC
from web.auth import Role
from web.deps import RequireRole
from web.metrics import ScraperOrOversight

SAMPLE = {
    "device": "lights",
    "ask_id": "1",
    "command_id": "c1",
    "alarm_id": "A1",
    "step": "acknowledge",
    "run_id": "1",
    "name": "mmc",
    "username": "custodian",
    "member_id": "1",
    "incident": "hall-1-fall-1",
    "spending_id": "1",
    "code": "supplies",
    "item": "cups",
    "complaint_id": "1",
    "incident_id": "1",
    "shift_id": "1",
    "digest": "0" * 64,
}


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI keeps them wrapped, not flattened)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
    return found


def roles_of(route: APIRoute) -> tuple[Role, ...] | None:
    for dependency in route.dependant.dependencies:
        if isinstance(dependency.call, RequireRole | ScraperOrOversight):
            return dependency.call.roles
    return None


def test_every_route_checks_who_calls(client: TestClient) -> None:
    routes = api_routes(client.app.routes)  # type: ignore[attr-defined]
    assert len(routes) >= 12
    tokens = {role: as_role(client, role) for role in Role}
    for route in routes:
        for method in route.methods:
            if (method, route.path) in PUBLIC:
                continue
            roles = roles_of(route)
            assert roles is not None, f"{method} {route.path} names no roles"
            path = route.path.format(**SAMPLE)
            anonymous = client.request(method, path, json={})
            assert anonymous.status_code == 401, f"{method} {path} let an anonymous caller through ({anonymous.status_code})"
            for role in Role:
                answer = client.request(method, path, json={}, headers=tokens[role])
                if role in roles:
                    assert answer.status_code not in (401, 403), f"{method} {path} refused a {role}"
                    if path == "/api/auth/logout":
                        tokens[role] = as_role(client, role)  # that call ended the session
                else:
                    assert answer.status_code == 403, f"{method} {path} let a {role} through ({answer.status_code})"
