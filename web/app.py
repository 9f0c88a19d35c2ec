"""The FastAPI application: shared resources opened in ``lifespan``, one router per resource."""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import json
import logging
import mimetypes
import re
import string
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import plotly
import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.exc import OperationalError

from scenarios.i18n import TEXT
from scenarios.schema import Scenario, Station
from station.live import LiveStation
from station.settings import Settings
from store.db import sessions
from web.api import ROUTERS
from web.deps import PROBLEMS, Refused, Services, StationTime, sign_in_recorder
from web.feed import router as feed_router
from web.headers import Compression, SecurityHeaders
from web.limits import BodyLimit
from web.metrics import RequestCounter, StationMetrics
from web.metrics import router as health_router
from web.planner import Budget, Planner
from web.signin import Rules, SignInGate

logger = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
PAGE = STATIC / "index.html"
"""A template: ``$app_js`` and the like become those files' content-hashed URLs (see ``render_page``)."""
MEMBER_PAGE = STATIC / "member.html"
"""The member's phone page (web/member_page.py), a template like ``PAGE``."""
VISITOR_PAGE = STATIC / "visitor.html"
"""The visitor's phone page (web/visitors.py), reached from the QR on the door."""
FEEDBACK_PAGE = STATIC / "feedback.html"
"""Anyone's feedback page (web/feedback.py), reached by the QR in the station."""
BOOKS_PAGE = STATIC / "books.html"
"""The union's books for anyone (web/books.py): no sign-in, nobody named."""
PAGES = {PAGE.name, MEMBER_PAGE.name, VISITOR_PAGE.name, BOOKS_PAGE.name, FEEDBACK_PAGE.name}
IMMUTABLE = "public, max-age=31536000, immutable"
"""For a URL that names its content: the browser keeps it a year and never asks again, not even on a reload."""
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".html": "text/html; charset=utf-8"}


def create_app(settings: Settings, station: Station, running: LiveStation | None = None, demand: Scenario | None = None) -> FastAPI:
    """The app for ``station``; a ``running`` live station may be handed in (tests), else it is started here,
    its devices emulated by ``demand``'s workers if the settings say so."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        live = running or LiveStation(station, settings, demand).start()
        assert (
            live.bridge is not None
            and live.daybook is not None
            and live.audit_log is not None
            and live.ledger is not None
            and live.supplies is not None
        )
        made = sessions(live.db)
        metrics = StationMetrics(live)
        audit_log = live.audit_log  # one chain: the automations' commands are in it too
        live.bridge.call(metrics.watch)
        app.state.services = Services(
            settings, made, live.bridge, live.history, Planner(made, Budget.of(settings)), station, live.daybook, metrics,
            SignInGate(made, Rules.of(settings), sign_in_recorder(audit_log)), audit_log,
            StationTime(live.station_time, live.emulated), live.holds, live.brief_doors, live.forget_face,
            live.tell_visitor, live.visitor_outcome, live.evidence, live.ledger, live.supplies,
        )  # fmt: skip
        try:
            yield
        finally:
            app.state.services.planner.stop()
            if running is None:
                live.stop()

    app = FastAPI(
        title="云小驿 Yunxiaoyi",
        version="0.1.0",
        lifespan=lifespan,
        description="Digital twin of a 24-hour trade-union station.",
        responses=PROBLEMS,
        docs_url=None,
        redoc_url=None,  # FastAPI's own pages load Swagger UI and ReDoc from a CDN; /docs below does not
    )
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(feed_router)
    app.include_router(health_router)
    app.add_middleware(Compression)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestCounter, metrics=lambda: getattr(getattr(app.state, "services", None), "metrics", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422, without the ``input`` it echoes: a 200 kB field sent back whole is the caller's own bytes
        doubled, and a password field would be echoed too. Where and what is wrong is all a caller needs."""
        problems = [{key: value for key, value in error.items() if key in ("type", "loc", "msg")} for error in exc.errors()]
        return JSONResponse({"detail": jsonable_encoder(problems)}, status_code=422)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        """A refusal with its catalog code, so the page can say it in its language (``Problem``)."""
        body = {"detail": exc.detail, "code": exc.code, "params": exc.params}
        return JSONResponse(jsonable_encoder(body), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        """A locked or unreachable database: the request's transaction was rolled back whole, so say so, not 500."""
        logger.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(
            {"detail": "the database is busy or unreachable; nothing was changed, try again", "code": "database_busy"},
            status_code=503, headers={"Retry-After": "5"},
        )  # fmt: skip

    assets = static_assets()
    catalog = catalog_script()
    urls = {name: f"/static/{asset.digest}/{name}" for name, asset in assets.items()}
    page = render_page(PAGE, {**urls, "i18n.js": f"/i18n.js?v={catalog.digest}"})
    member_page = render_page(MEMBER_PAGE, {**urls, "i18n.js": f"/i18n.js?v={catalog.digest}"})
    visitor_page = render_page(VISITOR_PAGE, {**urls, "i18n.js": f"/i18n.js?v={catalog.digest}"})
    books_page = render_page(BOOKS_PAGE, {**urls, "i18n.js": f"/i18n.js?v={catalog.digest}"})
    feedback_page = render_page(FEEDBACK_PAGE, {**urls, "i18n.js": f"/i18n.js?v={catalog.digest}"})

    async def static(request: Request) -> Response:
        """web/static's files and plotly.js (from the installed plotly package, never a CDN), each gzipped once.

        Under ``/static/<digest>/<name>``, the URLs the page uses, a file is immutable. Under
        ``/static/<name>`` (what docs.html names) it is revalidated each time. An unknown
        digest is a 404, not today's file: it would be kept a year under yesterday's name.
        A plain route, as the static mount was: anonymous, outside the API's role checks.
        """
        path: str = request.path_params["path"]
        digest, _, name = path.partition("/")
        asset = assets.get(name)
        if asset is not None and asset.digest == digest and name not in PAGES:  # the pages are templates, rendered
            return asset.response(request, IMMUTABLE)
        if path in assets and path not in PAGES:
            return assets[path].response(request, "no-cache")
        raise HTTPException(404)

    app.add_route("/static/{path:path}", static, methods=["GET"], include_in_schema=False)

    @app.get("/i18n.js", include_in_schema=False)
    def words(request: Request, v: str | None = None) -> Response:
        """The one translation catalog (scenarios/i18n.py) for the page; anonymous, as the sign-in form needs it.
        Immutable under the page's ``?v=<digest>``; otherwise revalidated by its ETag."""
        return catalog.response(request, IMMUTABLE if v == catalog.digest else "no-cache")

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> FileResponse:
        """The OpenAPI docs: Swagger UI from web/static/vendor (see its PROVENANCE.md), started by docs.js, no inline script."""
        return FileResponse(STATIC / "docs.html", media_type="text/html")

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> Response:
        """The page, revalidated on every visit: it is what names this server's assets."""
        return page.response(request, "no-cache")

    @app.get("/m", include_in_schema=False)
    def member_home(request: Request) -> Response:
        """The member's phone page (sign in with a code, the door pass, one's own data); revalidated like the staff page."""
        return member_page.response(request, "no-cache")

    @app.get("/v", include_in_schema=False)
    def visitor_home(request: Request) -> Response:
        """The visitor's phone page (ask to come in, see the answer); reached from the QR on the door."""
        return visitor_page.response(request, "no-cache")

    @app.get("/books", include_in_schema=False)
    def books_home(request: Request) -> Response:
        """The transparency page: each month's money in and out, every entry with its hash; for anyone, on a phone or the
        station's screen."""
        return books_page.response(request, "no-cache")

    @app.get("/f", include_in_schema=False)
    def feedback_home(request: Request) -> Response:
        """The feedback page: rate the station, say something, complain; no sign-in."""
        return feedback_page.response(request, "no-cache")

    return app


@dataclass(frozen=True)
class Asset:
    """A body served as it is, gzipped once (not on every request: plotly.js is 4.8 MB), and named by its digest."""

    body: bytes
    media_type: str
    digest: str
    packed: bytes | None
    """gzip at its best level, or None where that saves little (an image)."""

    @classmethod
    def of(cls, body: bytes, media_type: str) -> Asset:
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        return cls(body, media_type, hashlib.sha256(body).hexdigest()[:16], packed if len(packed) < 0.9 * len(body) else None)

    def response(self, request: Request, cache: str) -> Response:
        """200 with the body (gzipped if the browser takes it), or 304 if the browser holds this very variant."""
        zipped = self.packed is not None and "gzip" in request.headers.get("accept-encoding", "")
        etag = f'"{self.digest}{"-gz" if zipped else ""}"'
        headers = {"Cache-Control": cache, "ETag": etag, "Vary": "Accept-Encoding"}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        if zipped and self.packed is not None:
            return Response(self.packed, media_type=self.media_type, headers={**headers, "Content-Encoding": "gzip"})
        return Response(self.body, media_type=self.media_type, headers=headers)


def static_assets() -> dict[str, Asset]:
    """Every file in web/static by its path there (``vendor/swagger-ui/…`` included), and plotly.js."""
    files = {path.relative_to(STATIC).as_posix(): path for path in sorted(STATIC.rglob("*")) if path.is_file()}
    return {name: _asset(path, path.stat().st_mtime_ns) for name, path in {**files, "plotly.min.js": PLOTLY_JS}.items()}


@functools.cache
def _asset(path: Path, mtime_ns: int) -> Asset:
    """Read and gzipped once per process and version of the file (the tests make many apps)."""
    media_type = MEDIA_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Asset.of(path.read_bytes(), media_type)


def render_page(template: Path, urls: Mapping[str, str]) -> Asset:
    """index.html with each ``$name_ext`` (``$app_js`` for app.js, ``$plotly_min_js``…) replaced by that file's URL,
    once, when the app is made. A placeholder naming no file fails here, at start, not in a browser."""
    values = {re.sub(r"\W", "_", name): html.escape(url) for name, url in urls.items()}
    return Asset.of(string.Template(template.read_text(encoding="utf-8")).substitute(values).encode(), MEDIA_TYPES[".html"])


def catalog_script() -> Asset:
    """``const TEXT = {"zh": {...}, "en": {...}};``, what the page's ``t(key)`` reads."""
    body = f"const TEXT = {json.dumps(TEXT, ensure_ascii=False, sort_keys=True)};\n".encode()
    return Asset.of(body, MEDIA_TYPES[".js"])


def server_config(app: FastAPI, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """How ``yxy serve`` (and the tests' server) runs the app: X-Forwarded-For believed only from ``trusted_proxies``.

    uvicorn's default believes it from any loopback peer, so anyone on the machine could
    put any address in the audit log and dodge the sign-in's per-place limits.
    """
    return uvicorn.Config(
        app, host=host, port=port, log_level="warning",
        proxy_headers=settings.trusted_proxies is not None, forwarded_allow_ips=settings.trusted_proxies or "",
    )  # fmt: skip
