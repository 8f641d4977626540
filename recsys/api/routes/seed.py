"""The MovieLens seed's endpoints, with its response shapes kept exactly (fields only added)."""


from typing import Annotated, Literal

from fastapi import APIRouter, Query

from recsys.api import payloads
from recsys.api.deps import MAX_OFFSET, ServiceDep, UserId, scored
from recsys.api.errors import NOT_FOUND, UNPROCESSABLE
from recsys.api.payloads import JSONBytes
from recsys.api.schemas import Feature, SeedRecommendations, SeedRecommendationsWithMetadata

SEED_N = 10


def build_router(max_n: int) -> APIRouter:
    """The routes, with `n` bounded by ``max_n`` (RECSYS_MAX_N) as on /v1."""
    router = APIRouter(tags=["seed"], default_response_class=JSONBytes)

    @router.get(
        "/recommendations/{user_id}",
        response_model=SeedRecommendations | SeedRecommendationsWithMetadata,
        responses={**NOT_FOUND, **UNPROCESSABLE},
        summary="Top movies the user has not rated (10 unless `n` says otherwise)",
    )
    async def recommendations(
        user_id: UserId,
        service: ServiceDep,
        n: Annotated[
            int, Query(ge=1, le=max_n, description=f"how many (at most {max_n})")
        ] = SEED_N,
        returnMetadata: Annotated[  # the seed's parameter name
            bool, Query(description="ids as numbers, with title, genres and year")
        ] = False,
        fallback: Annotated[
            Literal["popular"] | None,
            Query(description="`popular`: popular movies (flagged) for an unknown user, not 404"),
        ] = None,
    ) -> JSONBytes:
        """The seed's `{"items": [{"id": "<movieId>"}, …]}`, best first, each with its `score`
        (predicted rating); with `returnMetadata=true` the ids are numbers and each item has
        `title`, `genres` and `year`. An unknown user gets 404, or with `fallback=popular` the
        most-rated movies and `"fallback": true`."""
        ranked = await scored(
            service.answers_in_place, service.recommend, user_id, n, fallback=fallback
        )
        items = payloads.seed_items(service, ranked, returnMetadata)
        return JSONBytes({"items": items, "fallback": ranked.fallback,
                          "folded_in": ranked.folded_in})  # fmt: skip

    @router.get(
        "/feature/{user_id}",
        response_model=Feature,
        responses={**NOT_FOUND, **UNPROCESSABLE},
        summary="The movies a user rated",
    )
    async def feature(
        user_id: UserId,
        service: ServiceDep,
        n: Annotated[
            int | None, Query(ge=1, le=MAX_OFFSET, description="only the first n (default: all)")
        ] = None,
    ) -> JSONBytes:
        """The seed's `{"feature": [{"histories": [<movieId>, …]}]}`: the ids of every movie
        the user rated in the training data (or the first `n`), in descending order."""
        found = service.history(user_id, n, order="id")
        return JSONBytes({"feature": [{"histories": service.items.to_ids(found.items)}]})

    return router
