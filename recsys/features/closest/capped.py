"""Approximate closest raters (`max_candidates`): only the raters of m with the most
ratings are examined, their rows laid out densely in a pool (a byte a movie, a rating code), so
a pair's c and s take one look-up per movie of u, once per pair and target user."""

from __future__ import annotations

import numba
import numpy as np

from recsys.data.interactions import Interactions, entry
from recsys.features.closest.by_user import leave_out
from recsys.features.closest.nearest import best, distance, offer, write


def codes_of(ratings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each rating as a code (1.. the number of distinct values; 0 is "not rated") and the
    value of each code: a byte a rating on every usual scale."""
    values, codes = np.unique(ratings, return_inverse=True)
    dtype = np.uint8 if len(values) < 2**8 else np.uint16 if len(values) < 2**16 else np.uint32
    return (codes + 1).astype(dtype), np.r_[np.nan, values].astype(np.float64)


def pool_of(history: Interactions, items: np.ndarray, cap: int, codes: np.ndarray):
    """The examined raters of each targeted movie, the ones with the most ratings first
    (ties: smaller index), cap + 1 of them so that cap remain once the target user is
    skipped; and the pool they form, its rows dense: (pointers, raters' pool slots, their
    ratings of the movie, the pool's rows as the ``codes`` of `codes_of`)."""
    csr_i, csr_u = history.by_item, history.by_user
    wanted = np.zeros(history.n_items, np.bool_)
    wanted[items] = True
    sizes = np.where(wanted, np.minimum(csr_i.counts, cap + 1), 0)
    ptr = np.zeros(history.n_items + 1, np.int64)
    np.cumsum(sizes, out=ptr[1:])
    users = np.empty(ptr[-1], np.int32)
    ratings = np.empty(ptr[-1], np.float32)
    activity = csr_u.counts.astype(np.int64)
    _fill_candidates(csr_i.indptr, csr_i.indices, csr_i.ratings, activity, cap, ptr, users, ratings)
    pool = np.unique(users)
    slot = np.full(history.n_users, -1, np.int64)
    slot[pool] = np.arange(len(pool))
    rows = np.zeros((len(pool), history.n_items), codes.dtype)
    _fill_rows(pool, csr_u.indptr, csr_u.indices, codes, rows)
    return ptr, slot[users], users, ratings, rows


@numba.njit(cache=True)
def _fill_rows(pool, indptr, indices, codes, rows):
    """Each pool user's ratings as codes in their dense row (no index arrays the size of the
    pool's ratings: 50 M of them at full Netflix size)."""
    for h in range(len(pool)):
        for p in range(indptr[pool[h]], indptr[pool[h] + 1]):
            rows[h, indices[p]] = codes[p]


@numba.njit(cache=True, parallel=True)
def _fill_candidates(indptr, indices, ratings, activity, cap, ptr, users, out_ratings):
    for m in numba.prange(len(ptr) - 1):
        size = ptr[m + 1] - ptr[m]
        if size == 0:
            continue
        row = indices[indptr[m] : indptr[m + 1]]
        if len(row) <= cap:  # every rater is examined: order does not matter
            order = np.arange(size)
        else:  # stable on a row sorted by index: ties keep the smaller index first
            order = np.argsort(-activity[row], kind="mergesort")[:size]
        for k in range(size):
            users[ptr[m] + k] = row[order[k]]
            out_ratings[ptr[m] + k] = ratings[indptr[m] + order[k]]


@numba.njit(cache=True, parallel=True)
def closest_pooled(
    cand_ptr, cand_slots, cand_users, cand_ratings, rows, u_codes, values, cap, u_ptr, u_items,
    user, item, order, bounds, chunks, ratings, distances, raters,
):  # fmt: skip
    """The capped candidates of each target, c and s of a pair read from the rater's dense
    row at u's movies (u's movies ascending: the sums of a walk of both sorted rows)."""
    n = ratings.shape[1]
    for chunk in numba.prange(len(chunks) - 1):
        common = np.full(rows.shape[0], -1, np.int64)  # -1: pair not computed yet for this u
        diff = np.zeros(rows.shape[0], np.float64)
        touched = np.empty(rows.shape[0], np.int64)
        best_d, best_c, best_v, best_r = best(n)
        for g in range(chunks[chunk], chunks[chunk + 1]):
            u = user[order[bounds[g]]]
            lo, hi = u_ptr[u], u_ptr[u + 1]
            n_touched = 0
            for j in range(bounds[g], bounds[g + 1]):
                t = order[j]
                m = item[t]
                p = entry(u_ptr, u_items, u, m)
                own = values[u_codes[p]] if p >= 0 else np.nan
                k = 0
                examined = 0
                for q in range(cand_ptr[m], cand_ptr[m + 1]):
                    v = cand_users[q]
                    if v == u:
                        continue
                    if examined == cap:
                        break
                    examined += 1
                    h = cand_slots[q]
                    # The heavy raters come back for many of u's movies: pair them once.
                    if common[h] < 0:
                        c, s = 0, 0.0
                        for e in range(lo, hi):
                            code = rows[h, u_items[e]]
                            if code:
                                c += 1
                                s += abs(values[u_codes[e]] - values[code])
                        common[h], diff[h] = c, s
                        touched[n_touched] = h
                        n_touched += 1
                    c, s = leave_out(common[h], diff[h], own, cand_ratings[q])
                    k = offer(
                        distance(c, s), c, v, cand_ratings[q], k, best_d, best_c, best_v, best_r
                    )
                write(t, k, best_d, best_v, best_r, ratings, distances, raters)
            for j in range(n_touched):
                common[touched[j]] = -1
