"""Finding users and movies for the web page: movies by title, users by id (framework-free).

A title matches when every word of the query starts a word of it, ignoring case and accents,
so "the matrix" finds "Matrix, The (1999)", "amelie" finds "Amélie (2001)" and "star war" finds
"Star Wars" (but "the" does not find "Northern"). Matches are
ordered by how many ratings the movie has (then by id). Users are listed most active first.
The folded titles and the user order are computed once per service.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from dataclasses import dataclass

import numpy as np

from recsys.service import Recommendations


def fold(text: str) -> str:
    """Lower case without accents: what a title search compares."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class _Index:
    titles: list[str]  # folded, one per catalogue movie
    movie_ratings: np.ndarray  # training ratings per catalogue movie
    user_order: np.ndarray  # user positions, most ratings first
    user_ratings: np.ndarray  # training ratings per user position


_indexes: weakref.WeakKeyDictionary[Recommendations, _Index] = weakref.WeakKeyDictionary()


def _index(service: Recommendations) -> _Index:
    found = _indexes.get(service)
    if found is None:
        movie_ratings = np.zeros(len(service.movies), np.int64)
        movie_ratings[service.item_movie] = service.rating_count
        # Each user's number of training ratings. The service has no public count (the lead
        # may add one); its history offsets hold it.
        user_ratings = np.diff(service._history_indptr).astype(np.int64)
        order = np.lexsort((np.arange(len(user_ratings)), -user_ratings))
        found = _Index([fold(t or "") for t in service.movie_titles], movie_ratings, order,
                       user_ratings)  # fmt: skip
        _indexes[service] = found
    return found


@dataclass(frozen=True)
class Found:
    """Catalogue rows (movie positions) or user positions, one page of them, and the total."""

    rows: np.ndarray
    total: int


def search_movies(service: Recommendations, query: str, n: int, offset: int = 0) -> Found:
    """Catalogue movies with every word of ``query`` starting a word of their title, most
    rated first."""
    index = _index(service)
    starts = [re.compile(rf"\b{re.escape(w)}") for w in fold(query).split()]
    rows = np.fromiter(
        (r for r, title in enumerate(index.titles) if all(s.search(title) for s in starts)),
        np.int64,
    )
    ranked = rows[np.lexsort((rows, -index.movie_ratings[rows]))]
    return Found(ranked[offset : offset + n], len(ranked))


def movie_entries(service: Recommendations, found: Found) -> list[dict]:
    ratings = _index(service).movie_ratings
    return [
        {"id": service.movies.ids[r].item(), "title": service.movie_titles[r],
         "year": service.movie_years[r], "genres": service.movie_genres[r],
         "ratings": int(ratings[r])}
        for r in found.rows.tolist()
    ]  # fmt: skip


def list_users(service: Recommendations, query: str | None, n: int, offset: int = 0) -> Found:
    """Users most active first; with ``query``, those whose id starts with it."""
    order = _index(service).user_order
    if query:
        prefix = query.strip()
        ids = service.users.ids[order]
        keep = np.fromiter((str(i).startswith(prefix) for i in ids.tolist()), bool, len(ids))
        order = order[keep]
    return Found(order[offset : offset + n], len(order))


def user_entries(service: Recommendations, found: Found) -> list[dict]:
    ratings = _index(service).user_ratings
    return [
        {"id": service.users.ids[u].item(), "ratings": int(ratings[u])} for u in found.rows.tolist()
    ]
