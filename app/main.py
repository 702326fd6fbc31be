"""The app factory: `uvicorn --factory app.main:create_app`."""

from __future__ import annotations

import gc
import importlib
import logging
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import __version__
from app.api.errors import EVERY_ROUTE, install_openapi
from app.api.fast_lane import FastLane
from app.api.routes import (
    arithmetic,
    bench,
    figures,
    generative,
    health,
    inference,
    job_schema,
    jobs,
    oip,
    preprocessing,
)
from app.api.routes import models as models_routes
from app.api.tensors import ProtocolError
from app.jobs.broker import JobClient
from app.jobs.records import BrokerUnavailable
from app.metrics import MetricsMiddleware
from app.middleware.admission import AdmissionMiddleware, InFlight
from app.middleware.body_limit import BodyLimitMiddleware
from app.middleware.request_log import RequestLogMiddleware, configure_api_logging
from app.serving.server import ModelServer, ModelUnavailable, UnknownModel, WrongKind
from app.settings import ApiSettings
from app.web import page
from models.artifacts.registry import StoreUnavailable
from models.artifacts.stores import open_store
from models.logs import native_output_logged

logger = logging.getLogger(__name__)

DESCRIPTION = """
Read handwritten digits: classify them, encode them into a latent space and decode
them back, sample new ones from a VAE and walk between two, and add, multiply and
compare two of them. Every inference route takes `?model=NAME` to pick a registered
model of a kind that can answer it. Send images as multipart
uploads (PNG, JPEG, BMP, GIF, WebP or TIFF; dark ink on light paper or the reverse).
Every answer names the model version that produced it.
"""

FORM_FIELD_BYTES = 64 * 1024
"""Largest non-file multipart field (the only ones are short, such as a latent or `steps`)."""

BROKER_RETRY_AFTER_S = 5
"""What a 503 from a job route asks the client to wait while the broker is down."""


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()
    configure_api_logging(settings.log_format, settings.access_log)
    in_flight = InFlight()  # the admission's count: the batchers ask it how many requests are here

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings)
        if settings.starter_dir and settings.starter_dir.is_dir() and not store.names():
            seeded = store.seed(settings.starter_dir)
            logger.info("seeded the empty artifact store with starter models: %s", seeded)
        server = ModelServer(
            store,
            threads=settings.inference_threads,
            interval_s=settings.reload_interval_s,
            max_batch=settings.batch_max_size,
            max_wait_s=settings.batch_max_wait_ms / 1000.0,
            in_progress=in_flight.current,
        )
        with native_output_logged("litert", enabled=settings.log_format == "json"):
            server.start()  # loads and warms up every model: LiteRT prints a line on the first
        app.state.server = server
        app.state.jobs = JobClient(settings)
        # Everything alive now lives as long as the app. Frozen, the collector stops
        # walking it on every full collection, which were the slowest requests' pauses.
        gc.collect()
        gc.freeze()
        # scipy (for cutting numbers into digits) loads once the API is ready, not before
        threading.Thread(target=importlib.import_module, args=("scipy.ndimage",),
                         name="late-imports", daemon=True).start()  # fmt: skip
        try:
            yield
        finally:
            gc.unfreeze()
            server.stop()
            app.state.jobs.close()

    app = FastAPI(
        title="handcalc",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=EVERY_ROUTE,
        form_limits={
            # a batch to /classify is the most files any route takes; one more still reaches
            # the route, whose refusal names the batch limit
            "max_files": settings.max_batch_images + 1,
            "max_fields": settings.max_form_fields,
            "max_part_size": FORM_FIELD_BYTES,
        },
    )
    install_openapi(app)
    if settings.fast_lane:
        app.add_middleware(FastLane)  # innermost: inside every middleware below
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(AdmissionMiddleware, max_in_flight=settings.max_in_flight, counter=in_flight)
    app.add_middleware(MetricsMiddleware)  # counts refusals too
    access_line = settings.access_log and settings.log_format == "json"
    app.add_middleware(RequestLogMiddleware, access_log=access_line)  # outermost: ids every reply
    app.state.settings = settings
    routers = (inference, preprocessing, generative, arithmetic, job_schema, jobs)
    for module in (*routers, models_routes, figures, health, oip):
        app.include_router(module.router)
    page.mount(app)
    if settings.bench_routes:
        app.include_router(bench.router)

    @app.exception_handler(ModelUnavailable)
    async def model_unavailable(request: Request, error: ModelUnavailable) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(error)})

    @app.exception_handler(BrokerUnavailable)
    async def broker_unavailable(request: Request, error: BrokerUnavailable) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"detail": str(error)},
            headers={"Retry-After": str(BROKER_RETRY_AFTER_S)},
        )

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(request: Request, error: StoreUnavailable) -> JSONResponse:
        detail = f"the artifact store cannot be reached ({error}); inference goes on"
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"detail": detail},
            headers={"Retry-After": str(BROKER_RETRY_AFTER_S)},
        )

    @app.exception_handler(UnknownModel)
    async def unknown_model(request: Request, error: UnknownModel) -> JSONResponse:
        return JSONResponse(status_code=status.HTTP_404_NOT_FOUND, content={"detail": str(error)})

    @app.exception_handler(WrongKind)
    async def wrong_kind(request: Request, error: WrongKind) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": str(error)}
        )

    @app.exception_handler(ProtocolError)
    async def protocol_error(request: Request, error: ProtocolError) -> JSONResponse:
        return JSONResponse(status_code=error.status_code, content={"error": str(error)})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(error.headers or {})
        if error.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            # Starlette names the methods of the first route on the path; list them all
            headers["Allow"] = ", ".join(allowed_methods(app, request.scope))
        return JSONResponse(
            status_code=error.status_code, content={"detail": error.detail}, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": _describe(error)},
        )

    return app


def allowed_methods(app: FastAPI, scope: dict) -> list[str]:
    """Every method the OpenAPI schema lists for this request's path (HEAD with GET)."""
    methods: set[str] = set()
    for template, operations in app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, scope["path"]):
            methods |= {method.upper() for method in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _describe(error: RequestValidationError) -> str:
    """One readable sentence per problem, e.g. "body.a: Field required (multipart field)"."""
    parts = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem.get("loc", ()))
        message = problem.get("msg", "invalid")
        if problem.get("type") == "missing" and location.startswith("body."):
            message += f" (send it as the multipart or JSON field '{location[5:]}')"
        parts.append(f"{location}: {message}")
    return "; ".join(parts) or "invalid request"
