"""A caller cannot make the server hold a huge body: refused by its declared length before a byte is read, or cut off as
it streams in, signed in or not, against the real server (uvicorn) on a socket."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD
from web.limits import BODY_LIMIT, LARGE_BODY_LIMIT

MB = 1024 * 1024


def rss_mb() -> float:
    """This process's resident memory: the server runs in it, in a thread."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def send(server: str, head: str, body_chunks: int, chunk: bytes, chunked: bool = False) -> tuple[int, bytes]:
    """Status and body of the answer to a request whose body is ``body_chunks`` x ``chunk``, sent until the server answers."""
    where = urlsplit(server)
    with socket.create_connection((where.hostname, where.port), timeout=30) as connection:
        connection.sendall(head.encode())
        try:
            for _ in range(body_chunks):
                connection.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
            if chunked:
                connection.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # it answered and hung up mid-body: that is the point
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 4 + _length(answer):
                data = connection.recv(65536)
                if not data:
                    break
                answer += data
        except ConnectionResetError:
            pass
    status = int(answer.split(b" ", 2)[1])
    return status, answer.split(b"\r\n\r\n", 1)[1]


def _length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_a_300_mb_body_to_the_sign_in_is_refused_without_the_server_growing(server: str, chunked: bool) -> None:
    before = rss_mb()
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {300 * MB}"
    head = f"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    status, body = send(server, head, 300, b"[" * MB, chunked=chunked)
    assert status == 413
    assert "1 MB limit" in json.loads(body)["detail"]
    assert rss_mb() - before < 50, f"the server grew by {rss_mb() - before:.0f} MB"


def test_a_scenario_upload_may_be_larger_than_a_command_but_is_bounded_too(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        token = client.post("/api/auth/token", json={"username": "operator", "password": PASSWORD}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        just_under = "# " + "x" * (LARGE_BODY_LIMIT - 4096) + '\n[scenario]\nname = "big"\n'
        fits = client.post("/api/runs", json={"toml": just_under, "replications": 1}, headers=headers)
        assert fits.status_code != 413 and fits.status_code < 500, fits.text  # the scenario's own problems, not its size
        over = client.post("/api/runs", json={"toml": "x" * (LARGE_BODY_LIMIT + 1)}, headers=headers)
        assert over.status_code == 413, over.text
        command = client.post("/api/devices/lights/commands", json={"set": {"on": True}, "pad": "x" * BODY_LIMIT}, headers=headers)
        assert command.status_code == 413, command.text


@pytest.mark.parametrize("length", ["-1", "abc", "1e9"])
def test_a_length_that_is_no_number_is_refused(server: str, length: str) -> None:
    head = f"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    status, _ = send(server, head, 0, b"")
    assert status in (400, 413)


def test_a_refused_field_is_not_echoed_back(client: TestClient) -> None:
    operator = {
        "Authorization": f"Bearer {client.post('/api/auth/token', json={'username': 'operator', 'password': PASSWORD}).json()['token']}"
    }
    huge = "v = " + "[" * 250_000  # over the field's 200,000 characters
    answer = client.post("/api/runs", json={"toml": huge}, headers=operator)
    assert answer.status_code == 422 and len(answer.content) < 1_000, f"{len(answer.content)} bytes came back"
    assert answer.json()["detail"][0]["loc"] == ["body", "toml"] and "200000" in answer.json()["detail"][0]["msg"]
    secret = client.post("/api/auth/login", json={"username": "operator", "password": "x" * 300})
    assert secret.status_code == 422 and "xxxx" not in secret.text, "a password is never sent back"
