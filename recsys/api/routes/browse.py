"""/v1/users and /v1/movies as lists: find a user by id, a movie by title (the web page's
pickers). Paged like every /v1 list."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from recsys.api import browse
from recsys.api.deps import ServiceDep, page_params
from recsys.api.errors import UNPROCESSABLE
from recsys.api.payloads import JSONBytes
from recsys.api.schemas import RawId

RATINGS = Field(description="number of training ratings")


class Found(BaseModel):
    """One page of what matched."""

    n: int
    offset: int
    total: int = Field(description="how many matched (for paging)")


class UserEntry(BaseModel):
    id: RawId
    ratings: int = RATINGS


class UserList(Found):
    items: list[UserEntry]


class CatalogueMovie(BaseModel):
    id: RawId
    title: str | None
    year: int | None
    genres: list[str]
    ratings: int = RATINGS


class CatalogueMovieList(Found):
    items: list[CatalogueMovie]


def found(items: list[dict], n: int, offset: int, total: int) -> JSONBytes:
    return JSONBytes({"items": items, "n": n, "offset": offset, "total": total})


TITLE_WORDS = "words that start words of the title, in any order, ignoring case and accents"


def build_router(max_n: int, prefix: str = "/v1") -> APIRouter:
    """The routes, with `n` bounded by ``max_n`` (RECSYS_MAX_N)."""
    router = APIRouter(prefix=prefix, tags=["browse"], default_response_class=JSONBytes)
    Page = Annotated[tuple[int, int], Depends(page_params(max_n))]

    @router.get(
        "/users",
        response_model=UserList,
        responses=UNPROCESSABLE,
        summary="Users of the training data, most active first",
    )
    async def users(
        service: ServiceDep,
        page: Page,
        q: Annotated[str | None, Query(max_length=40, description="ids starting with this")] = None,
    ) -> JSONBytes:
        n, offset = page
        users = browse.list_users(service, q, n, offset)
        return found(browse.user_entries(service, users), n, offset, users.total)

    @router.get(
        "/movies",
        response_model=CatalogueMovieList,
        responses=UNPROCESSABLE,
        summary="Movies of the catalogue by title, most rated first",
    )
    async def movies(
        service: ServiceDep,
        page: Page,
        q: Annotated[str, Query(min_length=1, max_length=200, description=TITLE_WORDS)],
    ) -> JSONBytes:
        n, offset = page
        movies = await run_in_threadpool(browse.search_movies, service, q, n, offset)
        return found(browse.movie_entries(service, movies), n, offset, movies.total)

    return router
