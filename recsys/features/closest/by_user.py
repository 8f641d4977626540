"""Closest raters grouped by user: one sweep over u's co-raters (every rater of every movie
u rated) gives c and s for each, which serves all of u's targets, each a scan of R(m), or,
where those scans would be long, the near search (`near`). On half-star data c and 2s share
one word a co-rater (`closest_packed`, over `HotRows`); other scales keep float sums
(`closest_exact`)."""

from __future__ import annotations

import numba
import numpy as np

from recsys.data.interactions import entry
from recsys.features.closest.near import near_scratch, serve_near
from recsys.features.closest.nearest import PACK, best, distance, offer, scan_packed, write

# Where a user's scans visit more raters than NEAR_PASSES times every user, the near search
# serves its targets: its passes over all users cost less than the scans.
NEAR_PASSES = 4
DENSE_BLOCK = 4096  # labels of dense rows summed at a time (2,048, 8,192: no faster)


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
                    k = offer(distance(c, s), c, v, i_ratings[q], k, best_d, best_c, best_v, best_r)
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
def _sweep(u, u_ptr, u_items, u_doubled, runs, tails, dense, dense_at, values, users, doubled,
           packed, one):  # fmt: skip
    """Add one (c) and |2r_u - 2r_v| (2s) to packed[v] for every co-rater v of every movie
    u rated: over `HotRows`, vector passes over the dense rows and a constant a run beyond, or
    each rater's own difference where ``values`` is None (the history's listing, a movie a
    run); ``one`` = 0 and every entry is reset instead (cheaper than a list of the touched: the
    branch that keeps one mispredicts on most co-raters)."""
    if values is None:
        _sweep_listing(u, u_ptr, u_items, u_doubled, runs, users, doubled, packed, one)
    else:
        _sweep_runs(u, u_ptr, u_items, u_doubled, runs, tails, values, users, packed, one)
        spread = values[-1] - values[0]
        _sweep_dense(u, u_ptr, u_items, u_doubled, dense, dense_at, spread, packed, one)


@numba.njit(cache=True)
def _sweep_runs(u, u_ptr, u_items, u_doubled, runs, tails, values, users, packed, one):
    """The runs beyond the dense rows. Two loops, not one with a branch: that one ran the runs
    at half the speed."""
    levels = len(values)
    for p in range(u_ptr[u], u_ptr[u + 1]):
        run = u_items[p] * levels
        r = np.int64(u_doubled[p])
        for level in range(levels):
            add = packed.dtype.type(one + abs(r - values[level]) if one else 0)
            for q in range(tails[run + level], runs[run + level + 1]):
                if one:
                    packed[np.uint32(users[q])] += add
                else:
                    packed[np.uint32(users[q])] = 0


@numba.njit(cache=True)
def _sweep_dense(u, u_ptr, u_items, u_doubled, dense, dense_at, spread, packed, one):
    """The dense rows, after the runs: a block of DENSE_BLOCK labels at a time, every row that
    reaches it added into 16-bit sums (c above, 2s below ``bits``; one a label the compiler
    adds 32 at a time) held in the first cache level, poured into ``packed`` every ``every``
    rows, before they could overflow. On the 100 M set's period one (150 users, one thread)
    the dense rows took 0.31 s so against 0.43 s a row at a time into ``packed``."""
    lo, hi = u_ptr[u], u_ptr[u + 1]
    ends = np.empty(hi - lo, np.int64)
    for p in range(lo, hi):
        ends[p - lo] = dense_at[u_items[p] + 1] - dense_at[u_items[p]]
    longest = ends.max() if hi > lo else 0
    if not one:
        packed[:longest] = 0
        return
    by_end = np.argsort(-ends)  # rows reaching a block come first
    bits, every = _short_sums(spread)
    low, add = (1 << bits) - 1, np.uint16(1 << bits)
    sums = np.zeros(DENSE_BLOCK, np.uint16)
    reaching = hi - lo
    for start in range(0, longest, DENSE_BLOCK):
        while ends[by_end[reaching - 1]] <= start:
            reaching -= 1
        block = packed[start : min(start + DENSE_BLOCK, longest)]
        for first in range(0, reaching, every):
            for a in range(first, min(first + every, reaching)):
                p = lo + by_end[a]
                at = dense_at[u_items[p]]
                row = dense[at + start : at + min(start + DENSE_BLOCK, ends[by_end[a]])]
                own = np.uint8(u_doubled[p] + 1)
                for x in range(len(row)):
                    b = row[x]
                    gap = np.uint16(np.uint8(max(b, own) - min(b, own)))
                    sums[x] += add + gap if b != 0 else np.uint16(0)
            for x in range(len(block)):
                word = packed.dtype.type(sums[x])
                block[x] += (word >> bits) * one + (word & low)
                sums[x] = 0


@numba.njit(cache=True)
def _short_sums(spread):
    """The bits of 2s in a 16-bit sum, and how many rows it can take: the most rows whose c
    and 2s (each row adds at most ``spread``) both fit."""
    bits, every = 0, 0
    for b in range(16):
        rows = min(((1 << b) - 1) // max(spread, 1), (1 << (16 - b)) - 1)
        if rows > every:
            bits, every = b, rows
    return bits, every


@numba.njit(cache=True)
def _sweep_listing(u, u_ptr, u_items, u_doubled, starts, users, doubled, packed, one):
    for p in range(u_ptr[u], u_ptr[u + 1]):
        i = u_items[p]
        r = np.int64(u_doubled[p])
        for q in range(starts[i], starts[i + 1]):
            if one:
                packed[np.uint32(users[q])] += one + abs(r - np.int64(doubled[q]))
            else:
                packed[np.uint32(users[q])] = 0


@numba.njit(cache=True)
def _serve_user(
    g, packed, shift, scratch, kept, best_d, best_c, best_v, best_r, u_ptr, u_items, u_doubled,
    runs, tails, dense, dense_at, values, users, doubled, starts, user_of, label_of, rows, items,
    own_doubled, spread, user, item, order, bounds, ratings, distances, raters,
):  # fmt: skip
    """All targets of group g (one user u): sweep u's co-raters into ``packed`` (sums packed as
    c << shift | 2s), scan R(m) for each target or search near raters first, reset ``packed``."""
    n = ratings.shape[1]
    u = user[order[bounds[g]]]
    label = u
    if label_of is not None:
        label = label_of[u]
    one = np.int64(1) << shift
    sweep = (u, u_ptr, u_items, u_doubled, runs, tails, dense, dense_at, values, users, doubled)
    _sweep(*sweep, packed, one)
    lo, hi = bounds[g], bounds[g + 1]
    movie = item[order[lo:hi]]
    own = np.empty(hi - lo, np.int64)
    scans = 0
    for j in range(hi - lo):
        own[j] = _own_doubled(u, movie[j], u_ptr, u_items, u_doubled)
        scans += starts[movie[j] + 1] - starts[movie[j]]
    if scans > NEAR_PASSES * len(packed):
        near_d, near_c = np.empty((hi - lo, n)), np.empty((hi - lo, n), np.int64)
        near_v, near_r = np.empty((hi - lo, n), np.int64), np.empty((hi - lo, n), np.float32)
        found = serve_near(label, movie, own, packed, shift, spread, scratch, starts, users,
                           doubled, user_of, rows, items, own_doubled, kept, near_d, near_c,
                           near_v, near_r)  # fmt: skip
        for j in range(hi - lo):
            write(order[lo + j], found[j], near_d[j], near_v[j], near_r[j], ratings, distances,
                  raters)  # fmt: skip
    else:
        for j in range(hi - lo):
            k = scan_packed(label, movie[j], packed, False, own[j], starts, users, doubled, best_d,
                            best_c, best_v, best_r, None, 0, None, user_of, shift)  # fmt: skip
            write(order[lo + j], k, best_d, best_v, best_r, ratings, distances, raters)
    visits = 0
    for p in range(u_ptr[u], u_ptr[u + 1]):
        visits += starts[u_items[p] + 1] - starts[u_items[p]]
    if visits > len(packed):  # clearing every entry costs less than sweeping again
        packed[:] = 0
    else:
        _sweep(*sweep, packed, 0)


@numba.njit(cache=True, parallel=True)
def closest_packed(
    u_ptr, u_items, u_doubled, runs, tails, dense, dense_at, values, users, doubled, user_of,
    label_of, rows, items, own_doubled, spread, narrow, narrow_shift, user, item, order, bounds,
    chunks, ratings, distances, raters,
):  # fmt: skip
    """`closest_exact` on half-star data, over `HotRows` (runs, tails, dense, dense_at, values,
    users, doubled, user_of, label_of, rows, items, own_doubled), or over the history's listing
    by movie (runs = its row starts, None × 4, users, doubled, None, None, then the rows by
    user): a co-rater's c and 2s in one word, one read-modify-write a co-rater in the sweep
    (or a vector pass over a dense row), and `scan_packed` of R(m). Users with at most
    ``narrow`` ratings pack the sums in 32 bits (c << narrow_shift | 2s, `narrow_packing`:
    half the memory traffic), the others in 64. Where u's scans are long, the near search
    serves its targets (``spread``: the largest difference of two doubled ratings)."""
    n = ratings.shape[1]
    n_users = len(u_ptr) - 1
    if values is None:  # noqa: SIM108 (numba drops the branch a None argument cannot take)
        starts = runs
    else:
        starts = runs[:: len(values)].copy()  # where each movie's raters start
    for chunk in numba.prange(len(chunks) - 1):
        narrow_packed = np.zeros(n_users, np.uint32)
        wide_packed = np.zeros(n_users, np.int64)
        scratch = near_scratch(n_users, len(starts) - 1)
        kept = np.empty(np.max(np.diff(starts)) + 1, np.int32)
        best_d, best_c, best_v, best_r = best(n)
        for g in range(chunks[chunk], chunks[chunk + 1]):
            u = user[order[bounds[g]]]
            args = (
                u_ptr, u_items, u_doubled, runs, tails, dense, dense_at, values, users, doubled,
                starts, user_of, label_of, rows, items, own_doubled, spread, user, item, order,
                bounds, ratings, distances, raters,
            )  # fmt: skip
            if u_ptr[u + 1] - u_ptr[u] <= narrow:
                _serve_user(g, narrow_packed, narrow_shift, scratch, kept, best_d, best_c,
                            best_v, best_r, *args)  # fmt: skip
            else:
                _serve_user(g, wide_packed, PACK, scratch, kept, best_d, best_c, best_v, best_r,
                            *args)  # fmt: skip


def narrow_packing(spread: int) -> tuple[int, int]:
    """The most ratings a user may have for its co-raters' sums to pack in 32 bits, and the
    shift that does it: c << shift | 2s with 2s ≤ spread · c < 2^shift."""
    most = ((1 << bits) - 1 for bits in range(31, 0, -1))  # one rating always fits
    return next((n, (spread * n).bit_length()) for n in most
                if n.bit_length() + (spread * n).bit_length() <= 32)  # fmt: skip


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
