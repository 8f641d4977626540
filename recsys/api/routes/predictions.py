"""Predicted ratings: one pair, or a batch of up to RECSYS_MAX_BATCH pairs."""

from __future__ import annotations

import pydantic
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.constants import REF_PREFIX
from starlette.concurrency import run_in_threadpool

from recsys.api import payloads
from recsys.api.deps import MovieId, ServiceDep, SettingsDep, UserId, scored
from recsys.api.errors import NOT_FOUND, TOO_LARGE, UNPROCESSABLE, BatchTooLarge
from recsys.api.payloads import JSONBytes
from recsys.api.schemas import Prediction, PredictionRequest, Predictions
from recsys.service.ids import MAX_ID_LENGTH

router = APIRouter(tags=["predictions"], default_response_class=JSONBytes)

REQUEST = pydantic.TypeAdapter(PredictionRequest)
NOT_AN_ID = f"an id is a number within int64 or a text of at most {MAX_ID_LENGTH} characters"


def body_errors(error: pydantic.ValidationError) -> list[dict]:
    """Pydantic's errors at ("body", …); an id that fits neither kind is one error, not one per
    kind of id."""
    errors: dict[tuple, dict] = {}
    for e in error.errors(include_input=False):
        loc = ("body", *e["loc"])
        if len(loc) > 4 and loc[1] == "pairs":  # ("body", "pairs", k, "user_id", <kind>)
            loc = loc[:4]
            e = {"msg": NOT_AN_ID, "type": "id_type"}
        errors.setdefault(loc, {**e, "loc": loc})
    return list(errors.values())


@router.get(
    "/predictions/{user_id}/{movie_id}",
    response_model=Prediction,
    responses={**NOT_FOUND, **UNPROCESSABLE},
    summary="The predicted rating of one movie by one user",
)
async def predict_one(
    user_id: UserId,
    movie_id: MovieId,
    service: ServiceDep,
) -> JSONBytes:
    """The model's rating for the pair, clipped to the scale. A user or movie the model does
    not know gets 404 (the batch endpoint predicts those with the baseline instead)."""
    in_place = service.answers_in_place
    rating, fallback = await scored(in_place, service.predict_one, user_id, movie_id)
    user = service.users.parse(user_id)
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
    """Body `{"pairs": [{"user_id": 1, "movie_id": 31}, …]}` (`Content-Type: application/json`)
    with at most RECSYS_MAX_BATCH (default 10,000) pairs — more get 413. Ids are numbers
    within int64 or text, read as on GET. Each prediction says whether it fell back: a pair
    whose user or movie the model never saw (GET's 404) is predicted by the damped bias
    baseline and lists which id is `unknown`."""
    limit = settings.max_batch
    body = await request.body()  # at most RECSYS_MAX_BODY_BYTES (recsys.api.limits)
    body = body.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark, read past as on writes
    try:
        parsed = REQUEST.validate_json(body)
    except pydantic.ValidationError as error:
        raise RequestValidationError(body_errors(error)) from None
    pairs = parsed["pairs"]
    if len(pairs) > limit:
        raise BatchTooLarge(f"{len(pairs):,} pairs; at most {limit:,} in one request")
    users = [p["user_id"] for p in pairs]
    movies = [p["movie_id"] for p in pairs]

    def work() -> bytes:
        user, item = service.users.index(users), service.items.index(movies)
        rating, fallback = service.predict(users, movies)  # stored ratings folded in
        unknown = (user < 0) & fallback  # a user only the store knows is known
        return payloads.predictions(
            service.users.canonical(users, user), service.items.canonical(movies, item),
            rating, fallback, unknown, item < 0,
        )  # fmt: skip

    return JSONBytes(await run_in_threadpool(work))
