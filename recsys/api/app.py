"""The app factory: `create_app()` (what `server.py` and `recsys serve` run).

The model is loaded once, in the lifespan, from the settings (`recsys.service.load_service`);
a missing, corrupt or incompatible artifact stops start-up with a message that says what is
wrong. Tests pass ``settings`` or a ready ``service``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.constants import REF_PREFIX
from fastapi.openapi.utils import (
    get_openapi,
    validation_error_definition,
    validation_error_response_definition,
)

import recsys
from recsys.api import errors
from recsys.api.cors import add_cors
from recsys.api.keys import READ
from recsys.api.limits import RequestLimits
from recsys.api.metrics import Metrics, MetricsMiddleware
from recsys.api.rollout import reload_on_signal
from recsys.api.routes import (
    admin,
    browse,
    docs,
    feedback,
    movies,
    pages,
    predictions,
    seed,
    system,
    users,
)
from recsys.config import Settings, get_settings, read_settings, state_folder
from recsys.errors import RecsysError
from recsys.service import Recommendations, load_service
from recsys.service.feedback import Feedback

log = logging.getLogger("recsys.api")

DESCRIPTION = """Movie recommendations and predicted ratings from a trained recsys model.

The MovieLens seed's endpoints keep its response shapes (`/recommendations/{user_id}`,
`/feature/{user_id}`); `/predictions` gives predicted ratings; `/v1` is the versioned API with
paging (`n`, `offset`) and filters (`genre`, `year_min`, `year_max`, `exclude_seen`).
Unknown users and movies get 404, bad parameters 422, oversized batches 413."""


class StartupError(RuntimeError):
    """The service cannot start: what to serve is missing, corrupt or incompatible."""


def limit_blas_threads() -> None:
    """One BLAS thread (see `recsys.api`), also when NumPy was loaded before the API."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the environment variables set in recsys.api then did the job
        return
    threadpool_limits(1, user_api="blas")


def create_app(settings: Settings | None = None, service: Recommendations | None = None) -> FastAPI:
    """The ASGI app. Settings default to the environment (read at start-up, not import)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = app.state.settings or get_settings()
        limit_blas_threads()
        _log_to_stderr()
        if app.state.service is None:
            try:
                app.state.service = await anyio.to_thread.run_sync(load_service, app.state.settings)
            except RecsysError as error:
                log.error("cannot start the recsys service: %s", error)
                raise StartupError(f"cannot start the recsys service: {error}") from error
        if app.state.feedback is None:
            try:
                settings = app.state.settings
                app.state.feedback = await anyio.to_thread.run_sync(open_feedback, settings)
            except RecsysError as error:
                log.error("cannot start the recsys service: %s", error)
                raise StartupError(f"cannot start the recsys service: {error}") from error
        app.state.service.feedback = app.state.feedback
        await anyio.to_thread.run_sync(app.state.service.warm)
        app.state.feedback.start()
        info = app.state.service.model_info()
        app.state.metrics.describe_model(info)
        log.info("serving %s trained on %s (%s); ratings stored in %s", info["model"],
                 info["data"].get("name"), info["data"].get("fingerprint"),
                 app.state.feedback.dialect)  # fmt: skip
        _reload_on_sighup(app)
        try:
            yield
        finally:
            app.state.feedback.stop()

    limits = settings or read_settings()  # only the limits: paging, batch and body sizes, CORS
    app = FastAPI(
        title="recsys",
        version=recsys.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Prometheus metrics (/metrics) instead of FastAPI's OpenTelemetry, which costs time on
        # every request even with no exporter configured.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        docs_url=None,  # /docs and /redoc come from routes.docs, with assets served here
        redoc_url=None,
        redirect_slashes=False,  # a stray "/" is a JSON 404, not a bodiless 307 elsewhere
    )
    app.state.settings = settings
    app.state.service = service
    app.state.feedback = None
    app.state.rollout_lock = asyncio.Lock()
    app.state.metrics = Metrics()
    errors.install(app)
    app.include_router(seed.build_router(limits.max_n), dependencies=READ)
    app.include_router(predictions.router, dependencies=READ)
    app.include_router(users.build_router(limits.max_n), dependencies=READ)
    app.include_router(feedback.build_router())
    app.include_router(admin.router)
    app.include_router(movies.build_router(limits.max_n), dependencies=READ)
    app.include_router(system.router)
    app.include_router(browse.build_router(limits.max_n), dependencies=READ)
    app.include_router(docs.build_router(app.title))
    app.include_router(pages.router)
    app.add_middleware(RequestLimits, settings=limits)  # innermost: body size, time and type
    add_cors(app, limits.cors_origins)  # outside the limits, so browsers can read their errors
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.openapi = lambda: _openapi(app)
    return app


def _openapi(app: FastAPI) -> dict:
    """FastAPI's schema plus the body of POST /predictions, which is parsed by hand (fast)."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        body = predictions.REQUEST.json_schema(ref_template=REF_PREFIX + "{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(body.pop("$defs", {}))
        components["PredictionRequest"] = body
        # Every route declares its own 422, so FastAPI never adds the schemas it refers to
        # (ReDoc stops at a dangling reference).
        components.setdefault("HTTPValidationError", validation_error_response_definition)
        components.setdefault("ValidationError", validation_error_definition)
        app.openapi_schema = schema
    return app.openapi_schema


def open_feedback(settings: Settings) -> Feedback:
    """The rating store of the settings (RECSYS_DATABASE_URL, else SQLite in the state
    folder), migrated, and followed in memory."""
    from recsys.store import open_store

    store = open_store(settings.database_url, state_folder(settings))
    return Feedback(store, settings.feedback_poll)


def _reload_on_sighup(app: FastAPI) -> None:
    """SIGHUP re-reads the artifact at RECSYS_MODEL and swaps it in (where signals exist)."""
    path = app.state.settings.model
    if path is None or not hasattr(signal, "SIGHUP"):
        return
    loop = asyncio.get_running_loop()
    with contextlib.suppress(RuntimeError, ValueError):  # not the main thread: no signals
        loop.add_signal_handler(
            signal.SIGHUP, lambda: loop.create_task(reload_on_signal(app, path))
        )


def _log_to_stderr() -> None:
    """Show recsys's own INFO lines (what is served, training progress) beside uvicorn's."""
    logger = logging.getLogger("recsys")
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
