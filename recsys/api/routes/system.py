"""Health, the model being served, and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from recsys.api import payloads
from recsys.api.deps import ServiceDep
from recsys.api.payloads import JSONBytes
from recsys.api.schemas import Health, ModelInfo

router = APIRouter(tags=["system"], default_response_class=JSONBytes)


@router.get("/health/live", response_model=Health, summary="The process is up")
async def live() -> JSONBytes:
    return JSONBytes({"status": "live"})


@router.get(
    "/health/ready",
    response_model=Health,
    responses={503: {"model": Health, "description": "the model is not loaded yet"}},
    summary="The model is loaded and requests can be served",
)
async def ready(request: Request) -> JSONBytes:
    service = getattr(request.app.state, "service", None)
    if service is None:
        return JSONBytes({"status": "starting", "model": None}, status_code=503)
    return JSONBytes({"status": "ready", "model": service.meta.get("model")})


@router.get("/v1/model", response_model=ModelInfo, summary="The model being served")
async def model(service: ServiceDep) -> JSONBytes:
    """Model name and hyperparameters, the training data's name, fingerprint and counts, when
    it was trained, and its hold-out evaluation metrics. Names, never server paths."""
    return JSONBytes(payloads.without_paths(service.model_info()))


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                     "description": "Prometheus text exposition"}},
    summary="Prometheus metrics",
)  # fmt: skip
async def metrics(request: Request) -> Response:
    body, content_type = request.app.state.metrics.exposition()
    return Response(body, media_type=content_type)
