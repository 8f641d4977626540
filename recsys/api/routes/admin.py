"""Operator calls: roll a new model out without downtime."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from recsys.api import payloads
from recsys.api.keys import AUTH_ERRORS, WRITE
from recsys.api.payloads import JSONBytes
from recsys.api.rollout import Busy, Refused, roll_out
from recsys.api.schemas import ModelInfo


class Rollout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=4096, description="an artifact folder on the server")


router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=WRITE,
                   default_response_class=JSONBytes)  # fmt: skip


@router.post(
    "/model",
    response_model=ModelInfo,
    responses={**AUTH_ERRORS, 409: {"description": "another rollout is under way"},
               422: {"description": "the artifact was refused; the old model keeps serving"}},
    summary="Load an artifact, check it, and swap it in atomically",
)  # fmt: skip
async def model(body: Rollout, request: Request) -> JSONBytes:
    """Answers when the new model is live (its /v1/model), or with why it was refused. In-flight
    requests finish on the old model; stored ratings stay folded in."""
    try:
        info = await roll_out(request.app, body.path)
    except Busy as error:
        return JSONBytes({"detail": str(error)}, status_code=409)
    except Refused as error:
        return JSONBytes({"detail": f"refused, the live model keeps serving: {error}"},
                         status_code=422)  # fmt: skip
    return JSONBytes(payloads.without_paths(info))
