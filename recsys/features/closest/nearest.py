"""How raters rank (SPEC §3): a pair's distance from its common count c and absolute
difference s, and the running list of the n nearest so far, from plain sums or from sums
packed in one int64 a rater (c << 32 | 2s, half-star data)."""

from __future__ import annotations

import numba
import numpy as np

FEW_COMMON = 3  # common movies that carry a comparison
MISSING_COST = 3.5  # the distance each missing one of those adds
PACK = 32  # the common count sits above bit 32 of a packed sum, twice s below it
LOW = (1 << PACK) - 1


@numba.njit(cache=True)
def distance(c, s):
    """d of a pair with c common movies and absolute difference s (SPEC §3)."""
    if c >= FEW_COMMON:
        return 3.0 * s / c
    return s + MISSING_COST * (FEW_COMMON - c)


@numba.njit(cache=True)
def before(d, c, v, other_d, other_c, other_v):
    """Whether (d, c, v) ranks nearer than the other: smaller d, then larger c, then smaller v."""
    if d != other_d:
        return d < other_d
    if c != other_c:
        return c > other_c
    return v < other_v


@numba.njit(cache=True)
def best(n):
    """Room for the n best so far: distances, common counts, raters and their ratings."""
    return (
        np.empty(n, np.float64),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.float32),
    )


@numba.njit(cache=True)
def offer(d, c, v, r, k, best_d, best_c, best_v, best_r):
    """Insert (d, c, v) with rating r among the k best so far, kept in rank order; the new k."""
    if k == len(best_d):
        if not before(d, c, v, best_d[k - 1], best_c[k - 1], best_v[k - 1]):
            return k
        j = k - 1
    else:
        j = k
        k += 1
    while j > 0 and before(d, c, v, best_d[j - 1], best_c[j - 1], best_v[j - 1]):
        best_d[j], best_c[j] = best_d[j - 1], best_c[j - 1]
        best_v[j], best_r[j] = best_v[j - 1], best_r[j - 1]
        j -= 1
    best_d[j], best_c[j], best_v[j], best_r[j] = d, c, v, r
    return k


@numba.njit(cache=True)
def fraction(c, d):
    """The distance d of a rater with c common movies as num / den (d = num / den exactly)."""
    if c < FEW_COMMON:
        return np.int64(round(2 * d)), np.int64(2)
    return np.int64(round(d * 2 * c)), 2 * c


@numba.njit(cache=True)
def doubled_fraction(c, s2):
    """d of a pair with c common movies and doubled absolute difference s2 = 2s, exactly, as
    num / den: (s2 + 7(3 - c)) / 2 when c < 3, else 3 s2 / 2c."""
    if c < FEW_COMMON:
        return s2 + 7 * (FEW_COMMON - c), np.int64(2)
    return 3 * s2, 2 * c


@numba.njit(cache=True)
def beats(num, den, c, worst_num, worst_den, worst_c):
    """Whether a rater at num / den with c common movies enters a full list whose n-th best is
    worst_num / worst_den with worst_c (an empty list has worst_den = 0: everything enters).
    Raters come in index order, so one equal in d and c to the n-th best loses."""
    lhs, rhs = num * worst_den, worst_num * den
    return lhs < rhs or (lhs == rhs and c > worst_c)


@numba.njit(cache=True)
def ties(num, den, c, v, ids, worst_num, worst_den, worst_c, worst_v):
    """Whether a rater equal in d and c to the n-th best of a full list enters it by its
    smaller user id ids[v] (raters that do not come in id order; the id is read only for a
    tie)."""
    return num * worst_den == worst_num * den and c == worst_c and ids[v] < worst_v


@numba.njit(cache=True)
def write(t, k, best_d, best_v, best_r, ratings, distances, raters):
    for j in range(k):
        ratings[t, j] = best_r[j]
        distances[t, j] = best_d[j]
        raters[t, j] = best_v[j]


@numba.njit(cache=True)
def scan_packed(
    u, m, packed, by_slot, own, i_ptr, i_users, i_doubled, best_d, best_c, best_v, best_r,
    bucket=None, limit=0, kept=None, ids=None, shift=PACK,
):  # fmt: skip
    """The nearest raters of m to u from packed sums (c << shift | 2s), one a rater of m at
    packed[slot in R(m)] (``by_slot``) or at packed[v]; ``own`` is twice u's rating of m when
    the sums include m (taken back out: the target's own movie is never compared), else -1.
    Most raters are rejected on one comparison with the n-th best; returns how many were kept.
    With ``bucket`` (a user's least distance from u, graded as in `near`), only the raters in
    buckets up to ``limit`` are looked at: they are listed in ``kept`` first, without a
    branch. R(m) lists raters in index order, or by ``ids`` (each index's user id, the one
    ties are broken by) in any order.
    """
    n = len(best_d)
    held = np.int64(own >= 0)
    lo, hi = i_ptr[m], i_ptr[m + 1]
    low = (np.int64(1) << shift) - 1
    looked = hi - lo
    if bucket is not None:
        looked = 0
        for q in range(lo, hi):
            kept[looked] = q - lo
            looked += bucket[np.uint32(i_users[q])] <= limit
    k = 0
    # The n-th best distance as an exact fraction worst_num / worst_den: testing a rater
    # against it takes two integer products, no division.
    worst_num, worst_den, worst_c, worst_v = np.int64(1), np.int64(0), np.int64(0), np.int64(0)
    for j in range(looked):
        q = lo + (kept[j] if bucket is not None else j)
        v = np.uint32(i_users[q])
        word = np.int64(packed[q - lo] if by_slot else packed[v])
        c = (word >> shift) - held
        s2 = (word & low) - held * abs(own - np.int64(i_doubled[q]))
        num, den = doubled_fraction(c, s2)
        if v == u:
            continue
        if not beats(num, den, c, worst_num, worst_den, worst_c) and not (
            ids is not None and ties(num, den, c, v, ids, worst_num, worst_den, worst_c, worst_v)
        ):
            continue
        who = np.int64(v if ids is None else ids[v])
        k = offer(num / den, c, who, i_doubled[q] / 2.0, k, best_d, best_c, best_v, best_r)
        if k == n:
            worst_c, worst_v = best_c[n - 1], best_v[n - 1]
            worst_num, worst_den = fraction(worst_c, best_d[n - 1])
    return k
