"""Cross-origin calls from browsers, off unless RECSYS_CORS_ORIGINS lists origins.

Starlette's CORS middleware, with its preflight answers (OPTIONS) in JSON like every other
answer: 200 ``{"detail": "OK"}`` for an allowed origin, method and headers, 400 with what was
not allowed otherwise. Without origins, OPTIONS is a 405 like any method a route lacks."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from recsys.api.errors import error_body

METHODS = ("GET", "POST", "PUT", "DELETE")
HEADERS = ("Authorization", "Content-Type")


class JSONPreflightCORS(CORSMiddleware):
    def preflight_response(self, request_headers: Headers) -> Response:
        plain = super().preflight_response(request_headers)
        framing = ("content-type", "content-length")
        headers = {k: v for k, v in plain.headers.items() if k not in framing}
        return Response(
            error_body(bytes(plain.body).decode()), plain.status_code, headers,
            media_type="application/json",
        )  # fmt: skip


def add_cors(app: FastAPI, origins: list[str]) -> None:
    """Answer preflights and add CORS headers for ``origins`` ('*': any); none: nothing."""
    if origins:
        app.add_middleware(
            JSONPreflightCORS, allow_origins=origins, allow_methods=METHODS,
            allow_headers=HEADERS, max_age=600,
        )  # fmt: skip
