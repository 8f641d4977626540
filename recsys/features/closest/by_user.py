"""Closest raters grouped by user: one sweep over u's co-raters (every rater of every movie
u rated) gives c and s for each, which serves all of u's targets, each a scan of R(m). On
half-star data c and 2s share one int64 a co-rater (`closest_packed`); other scales keep float
sums (`closest_exact`)."""

from __future__ import annotations

import numba
import numpy as np

from recsys.data.interactions import entry
from recsys.features.closest.nearest import PACK, best, distance, offer, scan_packed, write


@numba.njit(cache=True)
def accumulate(u, u_ptr, u_items, u_ratings, i_ptr, i_users, i_ratings, common, diff, touched):
    """c[v] and s[v] over all movies u shares with each co-rater v (u itself included);
    returns how many users it touched, listed in ``touched``. Sums in float64 stay exact
    for ratings on any usual scale, so taking a movie back out later leaves no residue."""
    n_touched = 0
    for p in range(u_ptr[u], u_ptr[u + 1]):
        i = u_items[p]
        r = np.float64(u_ratings[p])
        for q in range(i_ptr[i], i_ptr[i + 1]):
            v = i_users[q]
            if common[v] == 0:
                touched[n_touched] = v
                n_touched += 1
            common[v] += 1
            diff[v] += abs(r - np.float64(i_ratings[q]))
    return n_touched


@numba.njit(cache=True)
def leave_out(c, s, own, theirs):
    """c and s of a pair without the target movie, where u rated it too (the target's own
    rating is never part of its description)."""
    if np.isnan(own):
        return c, s
    return c - 1, s - abs(own - np.float64(theirs))


@numba.njit(cache=True)
def _own_rating(u, m, u_ptr, u_items, u_ratings):
    """u's rating of m in the history, NaN when there is none."""
    p = entry(u_ptr, u_items, u, m)
    return np.float64(u_ratings[p]) if p >= 0 else np.nan


@numba.njit(cache=True, parallel=True)
def closest_exact(
    n_users, u_ptr, u_items, u_ratings, i_ptr, i_users, i_ratings,
    user, item, order, bounds, chunks, ratings, distances, raters,
):  # fmt: skip
    n = ratings.shape[1]
    for chunk in numba.prange(len(chunks) - 1):
        common = np.zeros(n_users, np.int64)
        diff = np.zeros(n_users, np.float64)
        touched = np.empty(n_users, np.int64)
        best_d, best_c, best_v, best_r = best(n)
        for g in range(chunks[chunk], chunks[chunk + 1]):
            u = user[order[bounds[g]]]
            n_touched = accumulate(
                u, u_ptr, u_items, u_ratings, i_ptr, i_users, i_ratings, common, diff, touched
            )
            for j in range(bounds[g], bounds[g + 1]):
                t = order[j]
                m = item[t]
                own = _own_rating(u, m, u_ptr, u_items, u_ratings)
                k = 0
                for q in range(i_ptr[m], i_ptr[m + 1]):
                    v = i_users[q]
                    if v == u:
                        continue
                    c, s = leave_out(common[v], diff[v], own, i_ratings[q])
                    k = offer(
                        distance(c, s), c, v, i_ratings[q], k, best_d, best_c, best_v, best_r
                    )
                write(t, k, best_d, best_v, best_r, ratings, distances, raters)
            for j in range(n_touched):
                common[touched[j]] = 0
                diff[touched[j]] = 0.0


@numba.njit(cache=True)
def _own_doubled(u, m, u_ptr, u_items, u_doubled):
    """Twice u's rating of m in the history, -1 when there is none."""
    p = entry(u_ptr, u_items, u, m)
    return np.int64(u_doubled[p]) if p >= 0 else np.int64(-1)


@numba.njit(cache=True)
def _sweep(u, u_ptr, u_items, u_doubled, i_ptr, i_users, i_doubled, packed, one):
    """Add one (c) and |2r_u - 2r_v| (2s) to packed[v] for every co-rater v of every movie
    u rated; ``one`` = 0 and every entry is reset instead (cheaper than a list of the touched:
    the branch that keeps one mispredicts on most co-raters)."""
    for p in range(u_ptr[u], u_ptr[u + 1]):
        i = u_items[p]
        r = np.int64(u_doubled[p])
        for q in range(i_ptr[i], i_ptr[i + 1]):
            v = i_users[q]
            if one:
                packed[v] += one + abs(r - np.int64(i_doubled[q]))
            else:
                packed[v] = 0


@numba.njit(cache=True, parallel=True)
def closest_packed(
    n_users, u_ptr, u_items, u_doubled, i_ptr, i_users, i_doubled, i_ratings,
    user, item, order, bounds, chunks, ratings, distances, raters,
):  # fmt: skip
    """`closest_exact` on half-star data: a co-rater's c and 2s in one int64 (c << 32 | 2s),
    one read-modify-write a co-rater in the sweep, and `scan_packed` of R(m)."""
    n = ratings.shape[1]
    one = np.int64(1) << PACK
    for chunk in numba.prange(len(chunks) - 1):
        packed = np.zeros(n_users, np.int64)
        best_d, best_c, best_v, best_r = best(n)
        for g in range(chunks[chunk], chunks[chunk + 1]):
            u = user[order[bounds[g]]]
            _sweep(u, u_ptr, u_items, u_doubled, i_ptr, i_users, i_doubled, packed, one)
            for j in range(bounds[g], bounds[g + 1]):
                t = order[j]
                m = item[t]
                own = _own_doubled(u, m, u_ptr, u_items, u_doubled)
                k = scan_packed(u, m, packed, False, own, i_ptr, i_users, i_doubled, i_ratings,
                                best_d, best_c, best_v, best_r)  # fmt: skip
                write(t, k, best_d, best_v, best_r, ratings, distances, raters)
            _sweep(u, u_ptr, u_items, u_doubled, i_ptr, i_users, i_doubled, packed, 0)


@numba.njit(cache=True)
def nearest_overall(u, n, n_users, u_ptr, u_items, u_ratings, i_ptr, i_users, i_ratings):
    """The n users nearest to u over every movie both rated (one sweep, no movie left out):
    their indices, distances and common counts, nearest first."""
    common = np.zeros(n_users, np.int64)
    diff = np.zeros(n_users, np.float64)
    touched = np.empty(n_users, np.int64)
    n_touched = accumulate(
        u, u_ptr, u_items, u_ratings, i_ptr, i_users, i_ratings, common, diff, touched
    )
    best_d, best_c, best_v, best_r = best(n)
    k = 0
    for j in range(n_touched):
        v = touched[j]
        if v != u:
            k = offer(
                distance(common[v], diff[v]), common[v], v, 0.0, k, best_d, best_c, best_v, best_r
            )
    return best_v[:k].astype(np.int32), best_d[:k].copy(), best_c[:k].astype(np.int32)
