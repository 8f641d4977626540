"""Features of (user, unseen movie) pairs: what the two-stage ranker reads about a candidate.

A candidate is a movie the user has not rated, so the closest-rater distance of SPEC §3 between
the user and another rater does not depend on the candidate (the target movie is never among
the movies they share). One pass over the user's movies and their raters gives every user's
common count and absolute difference; each candidate then takes its four nearest raters from
its own raters. The cost is what the overlaps cost, once per user, not once per pair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np
import scipy.sparse as sp

from recsys.data.interactions import Interactions
from recsys.data.schema import ITEM
from recsys.data.vocabulary import Vocabulary
from recsys.features.builder import N_CLOSEST
from recsys.features.closest.by_user import accumulate
from recsys.features.closest.nearest import best, offer
from recsys.features.closest.nearest import distance as pair_distance

if TYPE_CHECKING:
    import pandas as pd


def unseen_closest(
    history: Interactions,
    user: np.ndarray,
    item: np.ndarray,
    n: int = N_CLOSEST,
    own: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """closest_1..n ratings and distances (each (pairs, n) float32, NaN where a movie has
    fewer raters) of pairs grouped by user, whose movies the user has not rated.

    ``own`` = (items, ratings) describes one user the history does not hold (a fold-in): then
    every pair is theirs and ``user`` is ignored."""
    user = np.asarray(user, np.int64)
    item = np.asarray(item, np.int64)
    u, i = history.by_user, history.by_item
    u_ptr, u_items, u_ratings, rows = u.indptr, u.indices, u.ratings, user
    if own is not None:  # their one row; -1 is nobody, so every rater can be their neighbour
        u_ptr = np.array([0, len(own[0])], np.int64)
        u_items, u_ratings = np.asarray(own[0], np.int32), np.asarray(own[1], np.float32)
        user, rows = np.full(len(item), -1, np.int64), np.zeros(len(item), np.int64)
    if len(user) and (np.diff(user) < 0).any():
        raise ValueError("pairs must be grouped by user (sorted by user index)")
    starts = np.flatnonzero(np.r_[True, np.diff(user) != 0]) if len(user) else np.zeros(0, np.int64)
    bounds = np.r_[starts, len(user)].astype(np.int64)
    ratings = np.full((len(user), n), np.nan, np.float32)
    distances = np.full((len(user), n), np.nan, np.float32)
    # one user: no parallel region to wake (on a busy server that costs milliseconds)
    kernel = _unseen_closest_serial if len(starts) == 1 else _unseen_closest
    kernel(
        bounds, user, rows, item, u_ptr, u_items, u_ratings, i.indptr, i.indices, i.ratings,
        history.n_users, ratings, distances, numba.get_num_threads(),
    )  # fmt: skip
    return ratings, distances


def _unseen_closest_py(bounds, user, rows, item, u_ptr, u_items, u_ratings, i_ptr, i_users,
                       i_ratings, n_users, out_ratings, out_distances, threads):  # fmt: skip
    n_groups = len(bounds) - 1
    n_threads = min(threads, max(n_groups, 1))
    n = out_ratings.shape[1]
    for chunk in numba.prange(n_threads):
        common = np.zeros(n_users, np.int64)
        diff = np.zeros(n_users, np.float64)
        touched = np.empty(n_users, np.int64)
        # every user's distance to u: a user sharing no movie is at pair_distance(0, 0)
        far = pair_distance(0, 0.0)
        distance = np.full(n_users, far)
        best_d, best_c, best_v, best_r = best(n)
        for g in range(chunk, n_groups, n_threads):
            lo, hi = bounds[g], bounds[g + 1]
            u = user[lo]
            n_touched = accumulate(
                rows[lo], u_ptr, u_items, u_ratings, i_ptr, i_users, i_ratings, common, diff,
                touched,
            )  # fmt: skip
            for t in range(n_touched):
                v = touched[t]
                distance[v] = pair_distance(common[v], diff[v])
            for p in range(lo, hi):
                m = item[p]
                found = 0
                worst = np.inf  # the n-th best so far: a rater farther away cannot enter
                for e in range(i_ptr[m], i_ptr[m + 1]):
                    v = i_users[e]
                    d = distance[v]
                    if d > worst or v == u:
                        continue
                    found = offer(d, common[v], v, i_ratings[e], found,
                                  best_d, best_c, best_v, best_r)  # fmt: skip
                    if found == n:
                        worst = best_d[n - 1]
                for k in range(found):
                    out_ratings[p, k] = best_r[k]
                    out_distances[p, k] = best_d[k]
            for t in range(n_touched):
                common[touched[t]] = 0
                diff[touched[t]] = 0.0
                distance[touched[t]] = far


_unseen_closest = numba.njit(cache=True, parallel=True)(_unseen_closest_py)
_unseen_closest_serial = numba.njit(cache=True)(_unseen_closest_py)


def genre_matrix(items: Vocabulary, movies: pd.DataFrame) -> sp.csr_matrix:
    """Items × genres, 1 where the movie has the genre (float32 CSR); genre order is sorted."""
    table = movies[[ITEM, "genres"]].drop_duplicates(ITEM).explode("genres").dropna()
    # A boolean array, not a Series: pandas reads an empty object Series as a list of columns.
    table = table[table["genres"].map(lambda g: isinstance(g, str)).to_numpy(bool)]
    names = sorted(table["genres"].unique())
    code = {g: c for c, g in enumerate(names)}
    rows = items.index(table[ITEM].to_numpy())
    keep = rows >= 0
    cols = table["genres"].map(code).to_numpy()[keep]
    values = np.ones(int(keep.sum()), np.float32)
    matrix = sp.csr_matrix((values, (rows[keep], cols)), shape=(len(items), max(len(names), 1)))
    matrix.data[:] = 1.0  # a genre listed twice still counts once
    return matrix


def user_genre_totals(
    user: np.ndarray, item: np.ndarray, rating: np.ndarray, n_users: int, item_genres: sp.csr_matrix
) -> tuple[np.ndarray, np.ndarray]:
    """Per user and genre: how many ratings and their sum (users × genres, float64), of
    ratings given as aligned index arrays."""
    if n_users == 1:  # one user: no sparse matrices to build
        genres = item_genres[item].toarray().astype(np.float64)
        return genres.sum(axis=0)[None, :], (np.asarray(rating, np.float64) @ genres)[None, :]
    shape = (n_users, item_genres.shape[0])
    rated = sp.csr_matrix((np.ones(len(user)), (user, item)), shape)
    stars = sp.csr_matrix((np.asarray(rating, np.float64), (user, item)), shape)
    return np.asarray((rated @ item_genres).todense()), np.asarray((stars @ item_genres).todense())


def genre_affinity(
    genre_counts: np.ndarray,
    genre_sums: np.ndarray,
    user_count: np.ndarray,
    user_mean: np.ndarray,
    item_genres: sp.csr_matrix,
    user: np.ndarray,
    item: np.ndarray,
) -> np.ndarray:
    """Per pair: the share of the user's ratings that fall in the movie's genres (mean over its
    genres), and the user's mean rating in those genres minus their mean (NaN where none), from
    `user_genre_totals` and the users' rating counts and means."""
    genres = item_genres[item]
    rows = np.repeat(np.arange(len(item)), np.diff(genres.indptr))
    per_genre_count = genre_counts[user[rows], genres.indices]
    per_genre_sum = genre_sums[user[rows], genres.indices]
    n_genres = np.maximum(np.diff(genres.indptr), 1)
    total_count = np.bincount(rows, per_genre_count, len(item))
    total_sum = np.bincount(rows, per_genre_sum, len(item))
    share = total_count / n_genres / np.maximum(user_count[user], 1.0)
    rating = np.divide(total_sum, total_count, out=np.full(len(item), np.nan),
                       where=total_count > 0) - user_mean[user]  # fmt: skip
    return np.column_stack([share, rating]).astype(np.float32)
