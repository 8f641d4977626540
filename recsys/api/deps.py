"""Dependencies as `Annotated` aliases: the service (overridable in tests), paging and filters.

All are ``async def``: they only read state, and a plain ``def`` would cost a hop to the
thread pool on every request."""

from collections.abc import Callable
from typing import Annotated, TypeVar

import numpy as np
from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from recsys.config import Settings, get_settings
from recsys.service import Recommendations
from recsys.service.ids import MAX_ID_LENGTH


async def get_service(request: Request) -> Recommendations:
    service = getattr(request.app.state, "service", None)
    if service is None:  # only before start-up finished
        raise HTTPException(503, "the model is not loaded yet")
    return service


async def get_settings_of_app(request: Request) -> Settings:
    return request.app.state.settings or get_settings()


# Ids in paths and queries: text, parsed by `recsys.service.ids` like ids in bodies.
UserId = Annotated[
    str,
    Path(max_length=MAX_ID_LENGTH, description="a user id of the training data", examples=["19"]),
]
MovieId = Annotated[
    str,
    Path(max_length=MAX_ID_LENGTH, description="a movie id of the catalogue", examples=["1"]),
]


def id_query(description: str):
    """A query parameter holding an id (optional)."""
    return Query(max_length=MAX_ID_LENGTH, description=description)


ServiceDep = Annotated[Recommendations, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings_of_app)]

T = TypeVar("T")


async def scored(in_place: bool, work: Callable[..., T], *args, **kwargs) -> T:
    """Run work that scores with the model: ``in_place`` when the model says it takes
    microseconds (a hop to the thread pool would cost more than the work:
    `Recommendations.answers_in_place`, `.similar_in_place`), else in a worker thread, so a
    model that computes features per request never holds up the event loop."""
    if in_place:
        return work(*args, **kwargs)
    return await run_in_threadpool(work, *args, **kwargs)


MAX_OFFSET = 1_000_000


def page_params(max_n: int):
    """Query parameters ``n`` (1..max_n) and ``offset``, as a dependency."""

    async def page(
        n: Annotated[int, Query(ge=1, le=max_n, description=f"how many (at most {max_n})")] = 10,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="how many to skip")] = 0,
    ) -> tuple[int, int]:
        return n, offset

    return page


async def filters(
    request: Request,
    genre: Annotated[
        list[str] | None,
        Query(
            description="keep movies with any of these genres (repeat the parameter; "
            "repeats count once, at most RECSYS_MAX_QUERY_VALUES)"
        ),
    ] = None,
    year_min: Annotated[
        int | None, Query(ge=0, le=9999, description="released in or after this year")
    ] = None,
    year_max: Annotated[
        int | None, Query(ge=0, le=9999, description="released in or before this year")
    ] = None,
) -> np.ndarray | None:
    """The candidate mask of the genre and release-year filters (None: no filter). A genre no
    movie has, too many genres, or a year range that ends before it starts are 422. The
    service and settings are called for, not sub-dependencies to solve (each costs a request
    several microseconds of FastAPI's dependency solving)."""
    service, settings = await get_service(request), await get_settings_of_app(request)
    distinct: dict[str, str] = {}
    for name in genre or ():
        distinct.setdefault(name.casefold(), name)
    genres = list(distinct.values()) or None
    if genres and len(genres) > settings.max_query_values:
        raise unprocessable(
            ("query", "genre"), f"at most {settings.max_query_values} different genres"
        )
    if year_min is not None and year_max is not None and year_min > year_max:
        raise unprocessable(("query", "year_min"), "year_min is greater than year_max")
    return service.candidates(genres, year_min, year_max)


def unprocessable(loc: tuple, message: str) -> RequestValidationError:
    """A 422 in FastAPI's validation-error shape, for a check FastAPI cannot declare."""
    return RequestValidationError([{"loc": loc, "msg": message, "type": "value_error"}])


FiltersDep = Annotated[np.ndarray | None, Depends(filters)]
