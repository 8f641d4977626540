"""Ratings written over HTTP: stored durably, folded into the user's next request."""

from __future__ import annotations

import time
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from recsys.api.deps import MovieId, ServiceDep, SettingsDep, UserId, unprocessable
from recsys.api.errors import NOT_FOUND, UNPROCESSABLE, BatchTooLarge
from recsys.api.keys import AUTH_ERRORS, WRITE
from recsys.api.payloads import JSONBytes
from recsys.api.schemas import BodyId
from recsys.service.feedback import Feedback

MAX_TIMESTAMP = 2**53  # seconds; JSON numbers stay exact below it
# How far ahead of the server's clock a timestamp may be (clock skew): a rating dated in the
# future would outrank every later change of it until that date.
FUTURE_SLACK = 86_400


class RatingIn(BaseModel):
    """Strict types: a JSON true is no movie id or rating, "4.5" no rating, "1700000000" or
    1.7e9 no timestamp."""

    model_config = ConfigDict(extra="forbid", strict=True)
    movie_id: BodyId  # read as in POST /predictions: 31.0 is 31
    rating: StrictFloat
    timestamp: StrictInt | None = Field(
        None, ge=0, le=MAX_TIMESTAMP, description="seconds; default now; at most a day ahead"
    )


class RatingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ratings: list[RatingIn] = Field(min_length=1, description="at most RECSYS_MAX_RATINGS (1,000)")


class Stored(BaseModel):
    user_id: int | str
    received: int = Field(description="ratings in the request")
    stored: int = Field(description="inserted or changed")
    older: int = Field(description="not applied: a stored or training rating of the movie has "
                       "a later timestamp")  # fmt: skip
    duplicates: int = Field(description="repeats of a movie in the request (the latest kept)")
    seq: int = Field(description="the store's change number after this write")
    folded_in: bool = True


def _on_step(scale, rating: float) -> float:
    """A rating the scale accepts, exactly on its step (the scale allows float noise)."""
    if not scale.step:
        return rating
    return scale.low + round((rating - scale.low) / scale.step) * scale.step


async def get_feedback(request: Request) -> Feedback:
    feedback = getattr(request.app.state, "feedback", None)
    if feedback is None:
        raise HTTPException(503, "the rating store is not open yet")
    return feedback


FeedbackDep = Annotated[Feedback, Depends(get_feedback)]


def build_router(prefix: str = "/v1") -> APIRouter:
    router = APIRouter(prefix=f"{prefix}/users", tags=["ratings"], dependencies=WRITE,
                       default_response_class=JSONBytes)  # fmt: skip

    @router.post(
        "/{user_id}/ratings",
        response_model=Stored,
        responses={**AUTH_ERRORS, **UNPROCESSABLE, 413: {"description": "too many ratings"}},
        summary="Store a user's ratings (durable when answered); the next request folds them in",
    )
    def post_ratings(
        user_id: UserId, body: RatingsIn, service: ServiceDep, feedback: FeedbackDep,
        settings: SettingsDep,
    ) -> JSONBytes:  # fmt: skip
        """Upserts on (user, movie): the later timestamp wins, as in cleaning. A rating off the
        model's scale (its steps included), a timestamp more than a day ahead or a movie the
        model does not know is 422, naming each bad entry, and nothing of the request is
        stored: what is stored, `recsys train --feedback` keeps. A 2xx means the ratings are
        committed to disk."""
        if len(body.ratings) > settings.max_ratings:
            raise BatchTooLarge(f"{len(body.ratings)} ratings; at most {settings.max_ratings} "
                                "per request (RECSYS_MAX_RATINGS)")  # fmt: skip
        user = service.user_key(user_id)
        if user is None:
            raise unprocessable(("path", "user_id"), "not a user id of this data set")
        scale = service.scale
        on_scale = f"between {scale.low:g} and {scale.high:g}" + (
            f" in steps of {scale.step:g}" if scale.step else "")  # fmt: skip
        errors, rows = [], {}
        now = int(time.time())
        for k, entry in enumerate(body.ratings):
            item = service.items.find(entry.movie_id)
            if item is None:
                errors.append({"loc": ["body", "ratings", k, "movie_id"], "type": "unknown_movie",
                               "msg": f"movie {entry.movie_id!r} is not in the model's "
                                      "catalogue"})  # fmt: skip
            if not scale.contains(entry.rating):
                errors.append({"loc": ["body", "ratings", k, "rating"], "type": "off_scale",
                               "msg": f"a rating is {on_scale}"})  # fmt: skip
            if entry.timestamp is not None and entry.timestamp > now + FUTURE_SLACK:
                errors.append({"loc": ["body", "ratings", k, "timestamp"], "type": "future",
                               "msg": "a timestamp is at most a day ahead of the server's "
                                      f"clock ({now} now)"})  # fmt: skip
            if item is None or errors:
                continue
            stamp = now if entry.timestamp is None else entry.timestamp
            if item not in rows or stamp >= rows[item][1]:
                rows[item] = (_on_step(scale, entry.rating), stamp)
        if errors:
            return JSONBytes({"detail": errors}, status_code=422)
        items = np.fromiter(rows, np.int64, len(rows))
        trained = service.trained_timestamps(user_id, items)  # the later timestamp wins
        kept = [(str(service.items.ids[i]), *rows[i])
                for i, t in zip(items, trained, strict=True) if rows[i][1] >= t]
        result = feedback.write(user, kept)
        return JSONBytes({
            "user_id": service.users.parse(user_id), "received": len(body.ratings),
            "stored": result.stored, "older": result.older + len(rows) - len(kept),
            "duplicates": len(body.ratings) - len(rows), "seq": result.seq, "folded_in": True,
        })  # fmt: skip

    @router.delete(
        "/{user_id}/ratings/{movie_id}",
        responses={**AUTH_ERRORS, **NOT_FOUND, **UNPROCESSABLE},
        summary="Delete a user's rating of a movie (stored or from the training data)",
    )
    def delete_rating(
        user_id: UserId, movie_id: MovieId, service: ServiceDep, feedback: FeedbackDep
    ) -> JSONBytes:
        item = service.item_index(movie_id)
        _, items, _, _ = service.rated(user_id)  # an unknown user is 404
        if item not in set(items.tolist()):
            return JSONBytes({"detail": f"user {user_id!r} has no rating of movie {movie_id!r}"},
                             status_code=404)  # fmt: skip
        user, movie = service.user_key(user_id), str(service.items.ids[item])
        seq = feedback.delete(user, movie, int(time.time()))
        return JSONBytes({"user_id": service.users.parse(user_id),
                          "movie_id": service.items.ids[item].item(), "deleted": True,
                          "seq": seq})  # fmt: skip

    return router
