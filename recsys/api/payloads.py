"""Domain results -> JSON bytes, with orjson and without per-item model validation.

The routers declare response models for the docs; the bodies are built here from lists the
service precomputed (titles, genres, years per item), so a response costs one dict per item.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath

import numpy as np
import orjson
from starlette.responses import JSONResponse

from recsys.service import History, Neighbours, Ranked, Recommendations


class JSONBytes(JSONResponse):
    """JSON rendered by orjson; bytes pass through as they are."""

    def render(self, content) -> bytes:
        return content if isinstance(content, bytes) else orjson.dumps(content)


def rounded(values: np.ndarray, digits: int = 4) -> list[float]:
    return np.round(values.astype(np.float64), digits).tolist()


def seed_items(service: Recommendations, ranked: Ranked, metadata: bool) -> list[dict]:
    """The MovieLens seed's items: ``{"id": "<movieId>"}``, or with metadata
    ``{"id": <movieId>, "title", "genres"}`` — plus a score (and a year)."""
    ids = service.items.to_ids(ranked.items)
    scores = rounded(ranked.scores)
    if not metadata:
        items = [{"id": str(i), "score": s} for i, s in zip(ids, scores, strict=True)]
    else:
        titles, genres, years = service.item_title, service.item_genres, service.item_year
        items = [
            {"id": i, "title": titles[k], "genres": genres[k], "year": years[k], "score": s}
            for i, k, s in zip(ids, ranked.items.tolist(), scores, strict=True)
        ]
    return with_predicted(items, ranked)


def with_predicted(items: list[dict], ranked: Ranked) -> list[dict]:
    """Each item's ``predicted_rating`` (the model's rating model gives one for every list)."""
    if ranked.predicted is not None:
        for item, rating in zip(items, rounded(ranked.predicted), strict=True):
            item["predicted_rating"] = rating
    return items


def ranked_movies(service: Recommendations, ranked: Ranked, n: int, offset: int) -> dict:
    ids = service.items.to_ids(ranked.items)
    scores = rounded(ranked.scores)
    titles, genres, years = service.item_title, service.item_genres, service.item_year
    items = [
        {"id": i, "title": titles[k], "year": years[k], "genres": genres[k], "score": s}
        for i, k, s in zip(ids, ranked.items.tolist(), scores, strict=True)
    ]
    return {"items": with_predicted(items, ranked), "n": n, "offset": offset, "total": ranked.total,
            "fallback": ranked.fallback, "folded_in": ranked.folded_in}  # fmt: skip


def neighbours(user_id, movie_id, found: Neighbours) -> dict:
    distances = rounded(found.distances)
    common = found.common.tolist()
    ratings = [None] * len(common) if found.ratings is None else found.ratings.tolist()
    raters = [
        {"user_id": u, "distance": d, "common_movies": c, "rating": r}
        for u, d, c, r in zip(found.user_ids, distances, common, ratings, strict=True)
    ]
    return {"user_id": user_id, "movie_id": movie_id, "raters": raters}


def history(service: Recommendations, user_id, found: History, offset: int) -> dict:
    ids = service.items.to_ids(found.items)
    titles, genres, years = service.item_title, service.item_genres, service.item_year
    stored = [False] * len(ids) if found.stored is None else found.stored.tolist()
    items = [
        {"id": i, "title": titles[k], "year": years[k], "genres": genres[k], "rating": r,
         "timestamp": t, "stored": s}
        for i, k, r, t, s in zip(
            ids, found.items.tolist(), found.ratings.tolist(), found.timestamps.tolist(),
            stored, strict=True,
        )
    ]  # fmt: skip
    return {"user_id": user_id, "total": found.total, "offset": offset, "items": items}


def predictions(
    user_ids: list, movie_ids: list, rating: np.ndarray, fallback: np.ndarray,
    unknown_user: np.ndarray, unknown_movie: np.ndarray,
) -> bytes:  # fmt: skip
    """``{"predictions": [...], "count"}``; a pair with an unknown id says which (``unknown``)."""
    ratings = rounded(rating)
    flags = fallback.tolist()
    body = [
        {"user_id": u, "movie_id": m, "rating": r, "fallback": f}
        for u, m, r, f in zip(user_ids, movie_ids, ratings, flags, strict=True)
    ]
    for k in np.flatnonzero(unknown_user | unknown_movie).tolist():
        body[k]["unknown"] = ["user"] * bool(unknown_user[k]) + ["movie"] * bool(unknown_movie[k])
    return orjson.dumps({"predictions": body, "count": len(body)})


def without_paths(value):
    """``value`` with every absolute file path replaced by its last part: what the server
    serves is named, where it lies on the server is not shown (/v1/model)."""
    if isinstance(value, dict):
        return {k: without_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_paths(v) for v in value]
    if isinstance(value, str):
        for flavour in (PurePosixPath, PureWindowsPath):
            path = flavour(value)
            if path.is_absolute() or value.startswith("~"):
                return path.name
    return value
