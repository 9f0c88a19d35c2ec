"""The FastAPI application: shared resources opened in ``lifespan``, one router per resource."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import plotly
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError

from scenarios.i18n import TEXT
from scenarios.schema import Scenario, Station
from station.live import LiveStation
from station.settings import Settings
from store.audit import AuditLog, key_file_for
from store.db import sessions
from web.api import ROUTERS
from web.deps import Services, sign_in_recorder
from web.feed import router as feed_router
from web.headers import SecurityHeaders
from web.limits import BodyLimit
from web.metrics import RequestCounter, StationMetrics
from web.metrics import router as health_router
from web.planner import Budget, Planner
from web.signin import Rules, SignInGate

logger = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def create_app(settings: Settings, station: Station, running: LiveStation | None = None, demand: Scenario | None = None) -> FastAPI:
    """The app for ``station``; a ``running`` live station may be handed in (tests), else it is started here,
    its devices emulated by ``demand``'s workers if the settings say so."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        live = running or LiveStation(station, settings, demand).start()
        assert live.bridge is not None and live.daybook is not None
        made = sessions(live.db)
        metrics = StationMetrics(live)
        audit_log = AuditLog(key_file_for(settings.database_url, settings.audit_key_file))
        live.bridge.call(metrics.watch)
        app.state.services = Services(
            settings, made, live.bridge, live.history, Planner(made, Budget.of(settings)), station, live.daybook, metrics,
            SignInGate(made, Rules.of(settings), sign_in_recorder(audit_log)), audit_log,
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
        docs_url=None,
        redoc_url=None,  # FastAPI's own pages load Swagger UI and ReDoc from a CDN; /docs below does not
    )
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(feed_router)
    app.include_router(health_router)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestCounter, metrics=lambda: getattr(getattr(app.state, "services", None), "metrics", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422, without the ``input`` it echoes: a 200 kB field sent back whole is the caller's own bytes
        doubled, and a password field would be echoed too. Where and what is wrong is all a caller needs."""
        problems = [{key: value for key, value in error.items() if key in ("type", "loc", "msg")} for error in exc.errors()]
        return JSONResponse({"detail": jsonable_encoder(problems)}, status_code=422)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        """A locked or unreachable database: the request's transaction was rolled back whole, so say so, not 500."""
        logger.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(
            {"detail": "the database is busy or unreachable; nothing was changed, try again"},
            status_code=503, headers={"Retry-After": "5"},
        )  # fmt: skip

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        """plotly.js from the installed plotly package: served here, never from a CDN."""
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    catalog = catalog_script()

    @app.get("/i18n.js", include_in_schema=False)
    def words(request: Request) -> Response:
        """The one translation catalog (scenarios/i18n.py) for the page; anonymous, as the sign-in form needs it."""
        headers = {"ETag": catalog.etag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == catalog.etag:
            return Response(status_code=304, headers=headers)
        return Response(catalog.body, media_type="text/javascript; charset=utf-8", headers=headers)

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> FileResponse:
        """The OpenAPI docs: Swagger UI from web/static/vendor (see its PROVENANCE.md), started by docs.js, no inline script."""
        return FileResponse(STATIC / "docs.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app


@dataclass(frozen=True)
class CatalogScript:
    body: bytes
    etag: str


def catalog_script() -> CatalogScript:
    """``const TEXT = {"zh": {...}, "en": {...}};``, what the page's ``t(key)`` reads."""
    body = f"const TEXT = {json.dumps(TEXT, ensure_ascii=False, sort_keys=True)};\n".encode()
    return CatalogScript(body, f'"{hashlib.sha256(body).hexdigest()[:16]}"')


def server_config(app: FastAPI, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """How ``yxy serve`` (and the tests' server) runs the app: X-Forwarded-For believed only from ``trusted_proxies``.

    uvicorn's default believes it from any loopback peer, so anyone on the machine could
    put any address in the audit log and dodge the sign-in's per-place limits.
    """
    return uvicorn.Config(
        app, host=host, port=port, log_level="warning",
        proxy_headers=settings.trusted_proxies is not None, forwarded_allow_ips=settings.trusted_proxies or "",
    )  # fmt: skip
