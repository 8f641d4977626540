"""/v1/users: recommendations, closest raters and history of a user."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from recsys.api import payloads
from recsys.api.deps import FiltersDep, ServiceDep, UserId, id_query, page_params, scored
from recsys.api.errors import NOT_FOUND, UNPROCESSABLE
from recsys.api.payloads import JSONBytes
from recsys.api.schemas import ClosestRaters, MovieList, UserHistory


def build_router(max_n: int, prefix: str = "/v1") -> APIRouter:
    """The routes, with `n` bounded by ``max_n`` (RECSYS_MAX_N)."""
    router = APIRouter(prefix=f"{prefix}/users", tags=["users"], default_response_class=JSONBytes)
    Page = Annotated[tuple[int, int], Depends(page_params(max_n))]

    @router.get(
        "/{user_id}/recommendations",
        response_model=MovieList,
        responses={**NOT_FOUND, **UNPROCESSABLE},
        summary="A user's recommendations, filtered and paged",
    )
    async def recommendations(
        user_id: UserId,
        service: ServiceDep,
        page: Page,
        candidates: FiltersDep,
        exclude_seen: Annotated[bool, Query(description="leave out movies the user rated")] = True,
        fallback: Annotated[
            Literal["popular"] | None,
            Query(description="`popular`: popular movies (flagged) for an unknown user, not 404"),
        ] = None,
    ) -> JSONBytes:
        """The `n` best movies after `offset` by predicted rating, optionally of some genres
        and released within a year range."""
        n, offset = page
        ranked = await scored(
            service.answers_in_place, service.recommend, user_id, n, offset=offset,
            exclude_seen=exclude_seen, candidates=candidates, fallback=fallback,
        )  # fmt: skip
        return JSONBytes(payloads.ranked_movies(service, ranked, n, offset))

    @router.get(
        "/{user_id}/closest-raters",
        response_model=ClosestRaters,
        responses={**NOT_FOUND, **UNPROCESSABLE},
        summary="The users who rate most like a user (the Netflix seed's neighbours)",
    )
    def closest_raters(
        user_id: UserId,
        service: ServiceDep,
        n: Annotated[int, Query(ge=1, le=max_n, description="how many")] = 4,
        movie_id: Annotated[
            str | None,
            id_query(
                "only raters of this movie, compared on the other movies "
                "(the seed's closest_1..4 for the pair), with their rating of it"
            ),
        ] = None,
    ) -> JSONBytes:
        """Nearest first by the SPEC §3 distance: over the c movies both rated with absolute
        rating differences summing to s, 3·s/c when c ≥ 3, else s + 3.5·(3 − c); ties go to
        more common movies, then the smaller user id. Runs in a worker thread."""
        found = service.closest_raters(user_id, n, movie_id)
        user = service.users.parse(user_id)
        movie = None if movie_id is None else service.items.ids[service.item_index(movie_id)].item()
        return JSONBytes(payloads.neighbours(user, movie, found))

    @router.get(
        "/{user_id}/history",
        response_model=UserHistory,
        responses={**NOT_FOUND, **UNPROCESSABLE},
        summary="The ratings a user gave (the training data)",
    )
    async def history(
        user_id: UserId,
        service: ServiceDep,
        page: Page,
        order: Annotated[
            Literal["recent", "rating", "id"],
            Query(description="most recent first, best first, or by descending movie id"),
        ] = "recent",
    ) -> JSONBytes:
        n, offset = page
        found = await run_in_threadpool(service.history, user_id, n, offset=offset, order=order)
        user = service.users.parse(user_id)
        return JSONBytes(payloads.history(service, user, found, offset))

    return router
