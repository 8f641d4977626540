"""/docs (Swagger UI) and /redoc (ReDoc) from files served by the app itself, so both work
without internet: the assets come from the `fastapi-offline` package, and nothing the pages
load is on another host (no CDN, no web fonts, no Swagger validator badge, no Redocly logo)."""

from __future__ import annotations

import mimetypes
from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, HTTPException
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.responses import HTMLResponse, Response

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSET_NAMES = frozenset(p.name for p in ASSETS.iterdir() if p.is_file())
ASSET_URL = "/static/docs"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
# The validator would send the schema to an outside service and show its badge.
SWAGGER_PARAMETERS = {"validatorUrl": None, "deepLinking": True}
# ReDoc's sidebar shows a logo from its CDN; an empty image hides it (its onError does).
OUTSIDE = {"redoc.standalone.js": (b"https://cdn.redoc.ly/redoc/logo-mini.svg", b"data:,")}


@cache
def asset_bytes(name: str) -> bytes:
    body = (ASSETS / name).read_bytes()
    if name in OUTSIDE:
        body = body.replace(*OUTSIDE[name])
    return body


def build_router(title: str, openapi_url: str = "/openapi.json") -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{ASSET_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSET_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSET_URL}/favicon.png",
            oauth2_redirect_url=OAUTH2_REDIRECT,
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )

    @router.get(OAUTH2_REDIRECT)
    async def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSET_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSET_URL}/favicon.png",
            with_google_fonts=False,
        )

    @router.get(ASSET_URL + "/{name}")
    async def asset(name: str) -> Response:
        if name not in ASSET_NAMES:
            raise HTTPException(404, f"no asset {name!r}")
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Response(asset_bytes(name), media_type=media_type,
                        headers={"cache-control": "public, max-age=86400"})  # fmt: skip

    return router
