"""The web page at `/`: plain HTML, CSS and JavaScript from `recsys/api/static/`, no build step
and nothing from another host. The page reads the JSON API like any client."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from starlette.responses import FileResponse

STATIC = Path(__file__).resolve().parents[1] / "static"
FILES = frozenset(p.name for p in STATIC.iterdir() if p.is_file() and p.name != "index.html")
# Revalidate on every load: a new release's page never runs against an old script.
FRESH = {"cache-control": "no-cache"}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers=FRESH)


@router.get("/static/{name}")
async def static(name: str) -> FileResponse:
    if name not in FILES:
        raise HTTPException(404, f"no file {name!r}")
    return FileResponse(STATIC / name, headers=FRESH)
