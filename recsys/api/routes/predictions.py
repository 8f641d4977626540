"""Predicted ratings: one pair, or a batch of up to RECSYS_MAX_BATCH pairs."""

from __future__ import annotations

from typing import Annotated

import pydantic
from fastapi import APIRouter, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.constants import REF_PREFIX
from starlette.concurrency import run_in_threadpool

from recsys.api import payloads
from recsys.api.deps import ServiceDep, SettingsDep, scored
from recsys.api.errors import NOT_FOUND, TOO_LARGE, UNPROCESSABLE, BatchTooLarge
from recsys.api.payloads import JSONBytes
from recsys.api.schemas import Prediction, PredictionRequest, Predictions

router = APIRouter(tags=["predictions"], default_response_class=JSONBytes)

BYTES_PER_PAIR = 128  # generous for {"user_id": …, "movie_id": …}: the body-size limit
REQUEST = pydantic.TypeAdapter(PredictionRequest)


@router.get(
    "/predictions/{user_id}/{movie_id}",
    response_model=Prediction,
    responses={**NOT_FOUND, **UNPROCESSABLE},
    summary="The predicted rating of one movie by one user",
)
async def predict_one(
    user_id: Annotated[str, Path(examples=["19"])],
    movie_id: Annotated[str, Path(examples=["1"])],
    service: ServiceDep,
) -> JSONBytes:
    """The model's rating for the pair, clipped to the scale. A user or movie the model does
    not know gets 404 (the batch endpoint predicts those with the baseline instead)."""
    rating, fallback = await scored(service, service.predict_one, user_id, movie_id)
    user = service.users.ids[service.user_index(user_id)].item()
    movie = service.items.ids[service.item_index(movie_id)].item()
    return JSONBytes(
        {"user_id": user, "movie_id": movie, "rating": round(rating, 4), "fallback": fallback}
    )


@router.post(
    "/predictions",
    response_model=Predictions,
    responses={**UNPROCESSABLE, **TOO_LARGE},
    summary="Predicted ratings of many (user, movie) pairs",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF_PREFIX + "PredictionRequest"}}},
        }
    },
)
async def predict_many(request: Request, service: ServiceDep, settings: SettingsDep) -> JSONBytes:
    """Body `{"pairs": [{"user_id": 1, "movie_id": 31}, …]}` with at most RECSYS_MAX_BATCH
    (default 10,000) pairs — more get 413. Each prediction says whether it fell back: a pair
    whose user or movie the model never saw is predicted by the damped bias baseline."""
    limit = settings.max_batch
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > limit * BYTES_PER_PAIR + 1024:
        raise BatchTooLarge(f"body of {size} bytes is too large for {limit:,} pairs")
    body = await request.body()
    if len(body) > limit * BYTES_PER_PAIR + 1024:
        raise BatchTooLarge(f"body of {len(body)} bytes is too large for {limit:,} pairs")
    try:
        parsed = REQUEST.validate_json(body)
    except pydantic.ValidationError as error:
        loc = ("body",)
        raise RequestValidationError(
            [{**e, "loc": loc + tuple(e["loc"])} for e in error.errors(include_input=False)]
        ) from None
    pairs = parsed["pairs"]
    if len(pairs) > limit:
        raise BatchTooLarge(f"{len(pairs):,} pairs; at most {limit:,} in one request")
    users = [p["user_id"] for p in pairs]
    movies = [p["movie_id"] for p in pairs]

    def work() -> bytes:
        rating, fallback = service.predict(users, movies)
        return payloads.predictions(users, movies, rating, fallback)

    return JSONBytes(await run_in_threadpool(work))
