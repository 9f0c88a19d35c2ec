"""What every answer tells the browser, and which browser requests are refused before any route sees them.

- **Security headers** on every response: a Content-Security-Policy that allows no
  inline script and no other origin (so an injected ``<script>`` does not run, and
  nothing loads from a CDN); ``frame-ancestors 'none'`` (no clickjacking);
  ``nosniff``; ``Referrer-Policy: same-origin``; and ``Cache-Control: no-store`` on
  the API, so a shared phone's cache keeps no one's data. Anything else that names no
  policy of its own is ``no-cache`` (kept, but asked after on every use); the page's
  content-hashed assets say ``immutable`` themselves.
- **A planner report** is a file plotly writes with inline scripts. It gets its own
  policy: inline script allowed, but sandboxed to an opaque origin, so it can neither
  read the session cookie nor call the API.
- **Cross-origin writes**: a browser's POST, PUT, PATCH or DELETE from a page of
  another origin is refused with 403. SameSite cookies do not stop a page on another
  port of the same host, which is another origin but the same site. Scripts send no
  ``Origin`` and pass.
- **Compression**: gzip only for answers that reflect nothing of the request and hold
  no secret, because of BREACH: an attacker who can put text into the same compressed
  answer as a secret, and watch its length, learns the secret a byte at a time. So the
  page, its scripts and styles, the catalog, the docs and the planner's reports (made
  from a stored run, whatever the request says) are gzipped, and no other ``/api/`` answer
  is: there a token (``/api/auth/token``) or someone's data sits beside what the
  caller typed (``/api/audit``'s filters). The API's answers are a few kB; the feed is
  a WebSocket, which this never touches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.deps import same_origin
from web.limits import answer_json

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Inline styles only: plotly sets them on the elements it draws."""
REPORT_POLICY = (
    "sandbox allow-scripts allow-popups allow-modals; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; frame-ancestors 'none'"
)
"""A report runs its own inline script (plotly) in a sandbox of no origin; allow-modals lets its print button open the
browser's print dialog."""
REPORTS = re.compile(r"^(/api/runs/(\d+/report|compare)|/books/report|/api/stars/report)$")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
COMMON = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"DENY")]


@dataclass(frozen=True)
class SecurityHeaders:
    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] in UNSAFE and not same_origin(HTTPConnection(scope)):
            await answer_json(send, 403, "refused: this request came from a page of another origin", COMMON)
            return
        path: str = scope["path"]
        policy = REPORT_POLICY if REPORTS.match(path) else PAGE_POLICY
        extra = [(b"content-security-policy", policy.encode()), *COMMON]
        extra.append((b"cache-control", b"no-store" if path.startswith("/api/") else b"no-cache"))

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *((n, v) for n, v in extra if n not in names)]
            await send(message)

        await self.app(scope, receive, sending)


class Compression:
    """gzip where BREACH cannot reach (see the module's docstring); an answer gzipped already (an asset, packed once)
    passes as it is, and so does an answer under 1 kB, where gzip saves less than it costs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=1024, compresslevel=6)  # on the fly: a 5 MB report in ~0.1 s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        compressible = scope["type"] == "http" and (not scope["path"].startswith("/api/") or REPORTS.match(scope["path"]))
        await (self.gzip if compressible else self.app)(scope, receive, send)
