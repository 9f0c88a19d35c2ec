"""What the server tells browsers, and what it refuses from pages of other origins, against the real server.

The attack reproduced: a page served on another port of the same host (another
origin, the same site, so SameSite cookies go along) opens the feed or posts a
command with the victim's cookie.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx2 as httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from hardware_bridge.emulator import EmulatedDevice
from station.live import LiveStation
from tests.web.conftest import PASSWORD, serve

OTHER_ORIGIN = "http://127.0.0.1:1"


@pytest.fixture
def victim(server: str) -> Iterator[httpx.Client]:
    """A browser signed in as an operator: it holds the session cookie, as the victim's browser would."""
    with httpx.Client(base_url=server) as web:
        signed = web.post("/api/auth/login", json={"username": "operator", "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        yield web


def test_the_sign_in_sets_an_httponly_cookie_and_returns_no_token(server: str) -> None:
    with httpx.Client(base_url=server) as web:
        signed = web.post("/api/auth/login", json={"username": "operator", "password": PASSWORD})
    assert signed.status_code == 200 and "token" not in signed.json(), "no script on the page can read the session"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie  # plain http on loopback


def test_behind_a_tls_proxy_the_cookie_is_secure(station: LiveStation) -> None:
    for url in serve(station, trusted_proxies="127.0.0.1"):
        with httpx.Client(base_url=url) as web:
            signed = web.post(
                "/api/auth/login", json={"username": "operator", "password": PASSWORD}, headers={"X-Forwarded-Proto": "https"}
            )
        assert "secure" in signed.headers["set-cookie"].lower()


@pytest.mark.parametrize("path", ["/", "/docs", "/api/devices", "/api/auth/me", "/healthz"])
def test_every_answer_carries_the_security_headers(victim: httpx.Client, path: str) -> None:
    answer = victim.get(path)
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert (answer.headers.get("cache-control") == "no-store") == path.startswith("/api/")


def test_the_pages_have_no_inline_script(server: str) -> None:
    for path in ("/", "/docs"):
        html = httpx.get(f"{server}{path}").text
        assert "<script>" not in html and "<script " in html, path  # every script from a file


def test_a_write_from_a_page_of_another_origin_is_refused(victim: httpx.Client, lights: EmulatedDevice) -> None:
    forged = victim.post("/api/devices/lights/commands", json={"set": {"on": True}}, headers={"Origin": OTHER_ORIGIN})
    assert forged.status_code == 403 and "another origin" in forged.json()["detail"], forged.text
    sideways = victim.post("/api/devices/lights/commands", json={"set": {"on": True}}, headers={"Sec-Fetch-Site": "same-site"})
    assert sideways.status_code == 403, "a browser that sends no Origin but says same-site is refused too"
    login = victim.post("/api/auth/login", json={"username": "admin", "password": "x"}, headers={"Origin": OTHER_ORIGIN})
    assert login.status_code == 403, "nor can another page sign the victim in as someone else"
    host = str(victim.base_url).rstrip("/")
    own = victim.post("/api/devices/lights/commands", json={"set": {"on": True}}, headers={"Origin": host})
    assert own.status_code == 202, own.text
    reads = victim.get("/api/devices", headers={"Origin": OTHER_ORIGIN})
    assert reads.status_code == 200, "a read is not refused (the browser keeps its answer from the other page)"


def _open_feed(server: str, headers: dict[str, str]) -> str:
    async def run() -> str:
        url = server.replace("http://", "ws://") + "/api/feed?after=0"
        try:
            async with websockets.connect(url, additional_headers=headers, open_timeout=5) as socket:
                try:
                    await asyncio.wait_for(socket.recv(), 3)
                except TimeoutError:
                    return "open"
                except websockets.ConnectionClosed as closed:
                    return f"closed {closed.rcvd.code if closed.rcvd else ''} {closed.rcvd.reason if closed.rcvd else ''}"
                return "open"
        except InvalidStatus as refused:
            return f"refused {refused.response.status_code}"

    return asyncio.run(run())


def test_the_feed_refuses_a_socket_opened_by_another_origin(victim: httpx.Client, server: str) -> None:
    cookie = "; ".join(f"{name}={value}" for name, value in victim.cookies.items())
    assert _open_feed(server, {"Cookie": cookie, "Origin": server}) == "open"
    refused = _open_feed(server, {"Cookie": cookie, "Origin": OTHER_ORIGIN})
    assert (refused.startswith(("closed 1008", "refused 403")) and "another origin" in refused) or refused == "refused 403", refused


def test_a_token_in_the_feeds_url_signs_nobody_in(server: str) -> None:
    with httpx.Client(base_url=server) as web:
        token = web.post("/api/auth/token", json={"username": "operator", "password": PASSWORD}).json()["token"]

    async def run() -> str:
        url = server.replace("http://", "ws://") + f"/api/feed?after=0&token={token}"
        try:
            async with websockets.connect(url, open_timeout=5) as socket:
                await asyncio.wait_for(socket.recv(), 3)
                return "open"
        except InvalidStatus as refused:
            return f"refused {refused.response.status_code}"
        except websockets.ConnectionClosed as closed:
            return f"closed {closed.rcvd.code if closed.rcvd else ''}"

    assert asyncio.run(run()) == "refused 403"


def test_a_report_runs_sandboxed_away_from_the_session(victim: httpx.Client) -> None:
    answer = victim.get("/api/runs/1/report")  # 404 here, but the policy is the route's whatever the answer
    policy = answer.headers["content-security-policy"]
    assert policy.startswith("sandbox allow-scripts") and "allow-same-origin" not in policy
