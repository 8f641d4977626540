"""/v1/movies: popular movies, a movie's details and its similar movies."""

from typing import Annotated

from fastapi import APIRouter, Depends

from recsys.api import payloads
from recsys.api.deps import FiltersDep, MovieId, ServiceDep, id_query, page_params, scored
from recsys.api.errors import NOT_FOUND, UNPROCESSABLE
from recsys.api.payloads import JSONBytes
from recsys.api.schemas import Movie, MovieList


def build_router(max_n: int, prefix: str = "/v1") -> APIRouter:
    """The routes, with `n` bounded by ``max_n`` (RECSYS_MAX_N)."""
    router = APIRouter(prefix=f"{prefix}/movies", tags=["movies"], default_response_class=JSONBytes)
    Page = Annotated[tuple[int, int], Depends(page_params(max_n))]

    @router.get(
        "/popular",
        response_model=MovieList,
        responses={**NOT_FOUND, **UNPROCESSABLE},
        summary="The most-rated movies, filtered and paged",
    )
    async def popular(
        service: ServiceDep,
        page: Page,
        candidates: FiltersDep,
        user_id: Annotated[
            str | None, id_query("leave out the movies this user rated")
        ] = None,
    ) -> JSONBytes:
        """Most ratings first (ties: the higher mean rating); `score` is the number of
        ratings. An unknown `user_id` gets 404."""
        n, offset = page
        ranked = service.popular(n, offset=offset, candidates=candidates, exclude_user=user_id)
        return JSONBytes(payloads.ranked_movies(service, ranked, n, offset))

    @router.get(
        "/{movie_id}",
        response_model=Movie,
        responses={**NOT_FOUND, **UNPROCESSABLE},
        summary="A movie: title, year, genres and rating statistics",
    )
    async def movie(movie_id: MovieId, service: ServiceDep) -> JSONBytes:
        return JSONBytes(service.movie(movie_id))

    @router.get(
        "/{movie_id}/similar",
        response_model=MovieList,
        responses={**NOT_FOUND, **UNPROCESSABLE},
        summary="The movies most like a movie, filtered and paged",
    )
    async def similar(
        movie_id: MovieId, service: ServiceDep, page: Page, candidates: FiltersDep
    ) -> JSONBytes:
        """By the model's similarity: the cosine of its movie factors (matrix factorisation,
        and the ranker that rates with it), else of who rated them; `score` is the
        similarity. A movie without ratings gets 404."""
        n, offset = page
        ranked = await scored(service.similar_in_place, service.similar, movie_id, n,
                              offset=offset, candidates=candidates)  # fmt: skip
        return JSONBytes(payloads.ranked_movies(service, ranked, n, offset))

    return router
