"""Domain errors -> HTTP statuses, as JSON. The only place statuses are chosen for them.

* unknown user or movie (`UnknownIdError`) -> 404 ``{"detail": "unknown user '42'"}``
* a genre filter naming no genre of the catalogue (`UnknownGenreError`) -> 422, like any
  unusable query value
* an argument recsys cannot use (`ConfigError`, other `RecsysError`) -> 422, in FastAPI's
  validation-error shape ``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}``
* a batch over the limit (`BatchTooLarge`) -> 413 ``{"detail": ...}``

Limits met before a route runs answer in the same ``{"detail": ...}`` shape (`error_body`):
in `recsys.api.limits` (body size, time and type) and `recsys.api.protocol` (the connection).
"""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.constants import REF_PREFIX
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from recsys.api.keys import require_read, require_write
from recsys.api.schemas import Error
from recsys.errors import RecsysError, UnknownIdError
from recsys.service import UnknownGenreError

log = logging.getLogger(__name__)


class BatchTooLarge(Exception):
    """A request asks for more work than the service allows in one call."""


def error_body(detail: str) -> bytes:
    """The JSON body of every error recsys answers itself: ``{"detail": "..."}``."""
    return orjson.dumps({"detail": detail})


def _json(status: int, content) -> Response:
    return Response(orjson.dumps(content), status, media_type="application/json")


async def unknown_id(request: Request, error: UnknownIdError) -> Response:
    return _json(404, {"detail": str(error)})


async def unusable_argument(request: Request, error: RecsysError) -> Response:
    return _json(422, {"detail": [{"loc": ["query"], "msg": str(error), "type": "value_error"}]})


async def unknown_genre(request: Request, error: UnknownGenreError) -> Response:
    return _json(
        422, {"detail": [{"loc": ["query", "genre"], "msg": str(error), "type": "value_error"}]}
    )


async def too_large(request: Request, error: BatchTooLarge) -> Response:
    return _json(413, {"detail": str(error)})


async def validation_error(request: Request, error: RequestValidationError) -> Response:
    """FastAPI's 422 shape, without echoing the (possibly huge) input back. FastAPI reads the
    body before it checks the route's key, so the key is checked here first: a caller without
    one learns that, not what is wrong with the body."""
    refused = await _key_refusal(request)
    if refused is not None:
        return refused
    details = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type"))}
        for e in error.errors()
    ]
    return _json(422, {"detail": details})


async def unreadable_body(request: Request, error: StarletteHTTPException) -> Response:
    """FastAPI's 400 for a body it cannot read, after the route's key check (as for a 422)."""
    if error.status_code == 400:
        refused = await _key_refusal(request)
        if refused is not None:
            return refused
    return await http_exception_handler(request, error)


async def _key_refusal(request: Request) -> Response | None:
    """The 401 or 403 the route's key check gives this request, None when it passes."""
    for dependency in getattr(request.scope.get("route"), "dependencies", ()):
        if dependency.dependency in (require_write, require_read):
            try:
                await dependency.dependency(request)
            except HTTPException as refusal:
                return Response(orjson.dumps({"detail": refusal.detail}), refusal.status_code,
                                refusal.headers, media_type="application/json")  # fmt: skip
    return None


def install(app: FastAPI) -> None:
    app.add_exception_handler(UnknownIdError, unknown_id)
    app.add_exception_handler(UnknownGenreError, unknown_genre)
    app.add_exception_handler(RecsysError, unusable_argument)
    app.add_exception_handler(BatchTooLarge, too_large)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, unreadable_body)


VALIDATION = {"$ref": REF_PREFIX + "HTTPValidationError"}
NOT_FOUND = {404: {"model": Error, "description": "unknown user or movie"}}
UNPROCESSABLE = {
    422: {"description": "bad parameters", "content": {"application/json": {"schema": VALIDATION}}}
}
TOO_LARGE = {413: {"model": Error, "description": "more pairs than RECSYS_MAX_BATCH allows"}}
