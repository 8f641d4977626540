"""The near search of a user-grouped sweep (`by_user`), for a user whose scans of R(m) would be
long: once the sweep has given every co-rater v its c and 2s, the rows of u's nearest
co-raters are walked, each offering v to every target among the movies v rated, and a
target is settled as soon as no rater left can beat its n-th best.

- Each co-rater is graded by the least distance it can have from u for any target (with no
  movie left out, or with one left out on which their ratings differ by at most ``spread``):
  bucket[v] = ⌊least · BUCKETS_A_STEP⌋ (or one below, where a float division cannot tell).
- Bucket 0 (least distance 0) is walked first, by common count, most first, in slices of
  about ZERO_SLICE of the co-raters: a target with n raters at distance 0 is settled, since
  any rater left has fewer common movies than each of them (or a distance above 0). Most
  targets of the 100 M set are (their fourth-nearest rater agrees with u everywhere, on 3 to
  7 common movies).
- Then the next buckets, in bands of about BAND_SHARE of the co-raters (sized on a sample of
  them): a target whose n-th best is nearer than the band's lower edge is settled.
- A walk is taken only while its rows hold fewer entries than the open targets' R(m): the
  targets still open then scan R(m) for the raters in buckets up to their n-th best so far,
  or all of R(m) if they have fewer than n.

On the 100 M set's period one (0.1 % of its users, every rating left out in turn, 2 threads)
the kernel ran at 19.0-19.3 k targets/s where flagging the nearest tenth of the co-raters and
scanning each target's R(m) for them ran at 12.2-12.9 k, the same answers (25.6-26.6 k since
the sweeps add dense rows, `hot_rows`).
"""

from __future__ import annotations

import numba
import numpy as np

from recsys.features.closest.nearest import (
    FEW_COMMON,
    MISSING_COST,
    beats,
    doubled_fraction,
    fraction,
    offer,
    scan_packed,
)
from recsys.features.closest.prefetch import prefetch

NEAR_BUCKETS, BUCKETS_A_STEP = 4096, 128  # bucket NEAR_BUCKETS: nothing in common with u
ZERO_SLICE = 0.005
BAND_SHARE = 0.05
TALLY_EVERY = 8  # band sizes are counted on every 8th user
TOP_COMMON = 64  # bucket 0 is ordered by common count up to this (larger ones come first)
NOTHING_IN_COMMON = MISSING_COST * FEW_COMMON  # the distance of a rater with nothing in common
AHEAD = 16  # the rows a walk asks for ahead of the one it reads (`prefetch`)


@numba.njit(cache=True)
def near_scratch(n_users, n_items):
    """What one thread's near searches reuse: listed raters (and room to find them), buckets,
    band counts, the target a movie is (-1: none), a row's hits, and bucket 0's counts by
    common count."""
    return (
        np.empty(n_users, np.int32),
        np.empty(n_users, np.int32),
        np.empty(n_users, np.uint16),
        np.zeros(NEAR_BUCKETS + 1, np.int64),
        np.full(n_items, -1, np.int64),
        np.empty(n_items + 1, np.int64),
        np.zeros(TOP_COMMON + 1, np.int64),
    )


@numba.njit(cache=True, error_model="numpy")
def grade(packed, shift, spread, bucket):
    """bucket[v] from v's packed sums (`doubled_fraction`, as ranking does), or a bucket below
    it: 32-bit float divisions, their quotient scaled down by more than its rounding error
    (a bucket too low only has v walked sooner; least distance 0 stays bucket 0)."""
    low = (np.int64(1) << shift) - 1
    below = np.float32(BUCKETS_A_STEP * (1.0 - 2.0**-20))
    for v in range(len(packed)):
        word = np.int64(packed[v])
        c, s2 = word >> shift, word & low
        num, den = doubled_fraction(c, s2)
        out_num, out_den = doubled_fraction(c - 1, max(s2 - spread, 0))
        whole = np.float32(num) / np.float32(max(den, 1))
        out = np.float32(out_num) / np.float32(max(out_den, 1))
        least = min(np.int64(min(whole, out) * below), NEAR_BUCKETS - 1)
        bucket[v] = least if word != 0 else NEAR_BUCKETS


@numba.njit(cache=True)
def _tally(bucket, counts):
    """Counts of the buckets of every TALLY_EVERY-th user."""
    counts[:] = 0
    for v in range(0, len(bucket), TALLY_EVERY):
        counts[bucket[v]] += 1


@numba.njit(cache=True)
def _zero_by_common(packed, shift, bucket, found, listed, by_common):
    """Bucket 0's raters into ``listed`` by common count, most first (label order within a
    count; counts of TOP_COMMON and more as one), with ``by_common`` holding how many have
    each count."""
    n_found = _band(bucket, 0, 1, found)
    by_common[:] = 0
    for a in range(n_found):
        by_common[min(np.int64(packed[found[a]]) >> shift, TOP_COMMON)] += 1
    at = np.empty(TOP_COMMON + 1, np.int64)
    at[TOP_COMMON] = 0
    for c in range(TOP_COMMON, 0, -1):
        at[c - 1] = at[c] + by_common[c]
    for a in range(n_found):
        c = min(np.int64(packed[found[a]]) >> shift, TOP_COMMON)
        listed[at[c]] = found[a]
        at[c] += 1


@numba.njit(cache=True)
def _band(bucket, lo, hi, listed):
    """The raters in buckets lo..hi-1 into ``listed``, in label order; how many."""
    found = 0
    for v in range(len(bucket)):
        listed[found] = v
        found += (bucket[v] >= lo) & (bucket[v] < hi)
    return found


@numba.njit(cache=True)
def _entries(listed, lo, hi, rows):
    total = 0
    for a in range(lo, hi):
        total += rows[listed[a] + 1] - rows[listed[a]]
    return total


@numba.njit(cache=True)
def _walk(lo, hi, ids, walk):
    """Offer each listed rater v (a label; ``ids`` gives its user index) to every open target
    among the movies v rated (a target's own rating taken back out where u rated m): its row
    is read once, the targets' slots listed without a branch, then each compared with that
    target's n-th best."""
    label, listed, packed, shift, rows, items, own_doubled, slot, hits, own = walk[:10]
    best_d, best_c, best_v, best_r, k, worst = walk[10:]
    low = (np.int64(1) << shift) - 1
    n = best_d.shape[1]
    for a in range(lo, hi):
        if a + AHEAD < hi:
            prefetch(items, rows[listed[a + AHEAD]])
        v = listed[a]
        if v == label:
            continue
        word = np.int64(packed[v])
        c_all, s2_all = word >> shift, word & low
        found = 0
        for p in range(rows[v], rows[v + 1]):
            j = slot[items[p]]
            hits[found] = (j << 8) | own_doubled[p]
            found += j >= 0
        who = np.int64(v if ids is None else ids[v])
        for x in range(found):
            j, theirs = hits[x] >> 8, hits[x] & 255
            held = np.int64(own[j] >= 0)
            c = c_all - held
            s2 = s2_all - held * abs(own[j] - theirs)
            num, den = doubled_fraction(c, s2)
            w_num, w_den, w_c, w_v = worst[j, 0], worst[j, 1], worst[j, 2], worst[j, 3]
            tie = num * w_den == w_num * den and c == w_c and who < w_v
            if not (beats(num, den, c, w_num, w_den, w_c) or tie):
                continue
            k[j] = offer(num / den, c, who, theirs / 2.0, k[j], best_d[j], best_c[j], best_v[j],
                         best_r[j])  # fmt: skip
            if k[j] == n:
                worst[j, 2], worst[j, 3] = best_c[j, n - 1], best_v[j, n - 1]
                worst[j, 0], worst[j, 1] = fraction(worst[j, 2], best_d[j, n - 1])


@numba.njit(cache=True)
def _settle(targets, edge):
    """Settle the open targets whose n-th best no rater left can beat: it is nearer than
    ``edge``, where every rater left is at least that far, or at distance 0, when only the
    raters of bucket 0 with fewer common movies than all walked so far are left (nearer by c
    than any of those). Returns how many were settled and the entries of their R(m)."""
    first, settled, k, best_d, slot, movie, starts = targets
    n = best_d.shape[1]
    done, entries = 0, 0
    for j in range(len(first)):
        if first[j] != j or settled[j] or k[j] < n:
            continue
        if best_d[j, n - 1] < edge or best_d[j, n - 1] == 0.0:
            settled[j] = True
            slot[movie[j]] = -1
            done += 1
            entries += starts[movie[j] + 1] - starts[movie[j]]
    return done, entries


@numba.njit(cache=True)
def serve_near(label, movie, own, packed, shift, spread, scratch, starts, users, doubled, ids,
               rows, items, own_doubled, kept, best_d, best_c, best_v, best_r):  # fmt: skip
    """The n nearest raters (best_d, best_c, best_v, best_r: one row a target, n columns;
    returns how many each has) of u's targets, movie[j] with u's doubled rating own[j] (-1:
    none), from u's packed sums, as the module says."""
    listed, found, bucket, counts, slot, hits, by_common = scratch
    n_targets, n = best_d.shape
    first = np.empty(n_targets, np.int64)  # the first target of the same movie
    settled = np.zeros(n_targets, np.bool_)
    k = np.zeros(n_targets, np.int64)
    worst = np.zeros((n_targets, 4), np.int64)  # n-th best as num, den (0: none yet), c, v
    worst[:, 0] = 1
    open_targets, unscanned = 0, 0
    for j in range(n_targets):
        if slot[movie[j]] < 0:
            slot[movie[j]] = j
            open_targets += 1
            unscanned += starts[movie[j] + 1] - starts[movie[j]]
        first[j] = slot[movie[j]]
    grade(packed, shift, spread, bucket)
    _zero_by_common(packed, shift, bucket, found, listed, by_common)
    walk = (label, listed, packed, shift, rows, items, own_doubled, slot, hits, own, best_d,
            best_c, best_v, best_r, k, worst)  # fmt: skip
    targets = (first, settled, k, best_d, slot, movie, starts)
    _tally(bucket, counts)
    touched = TALLY_EVERY * (np.sum(counts) - counts[NEAR_BUCKETS])
    size = max(1, int(ZERO_SLICE * touched))
    lo, common = 0, TOP_COMMON + 1
    while common > 0 and open_targets > 0:
        hi = lo
        while common > 0 and hi - lo < size:
            common -= 1
            hi += by_common[common]
        if _entries(listed, lo, hi, rows) > unscanned:
            break
        _walk(lo, hi, ids, walk)
        done, entries = _settle(targets, 0.0)
        open_targets, unscanned, lo = open_targets - done, unscanned - entries, hi
    band = max(1, int(BAND_SHARE * touched / TALLY_EVERY))
    lo, top = 1, int(NOTHING_IN_COMMON * BUCKETS_A_STEP)
    while common == 0 and lo < top and open_targets > 0:
        hi, total = lo, 0
        while hi < top and total < band:
            total += counts[hi]
            hi += 1
        in_band = _band(bucket, lo, hi, listed)
        if _entries(listed, 0, in_band, rows) > unscanned:
            break
        _walk(0, in_band, ids, walk)
        done, entries = _settle(targets, hi / BUCKETS_A_STEP)
        open_targets, unscanned, lo = open_targets - done, unscanned - entries, hi
    for j in range(n_targets):
        slot[movie[j]] = -1
        f = first[j]
        if settled[f]:
            for x in range(n):
                best_d[j, x], best_c[j, x] = best_d[f, x], best_c[f, x]
                best_v[j, x], best_r[j, x] = best_v[f, x], best_r[f, x]
            k[j] = n
            continue
        limit = NEAR_BUCKETS  # every rater of m, whatever its bucket, as far as 10.5 or more
        if k[j] == n and best_d[j, n - 1] < NOTHING_IN_COMMON:
            limit = int(best_d[j, n - 1] * BUCKETS_A_STEP)  # exact: d is a dyadic or no k/128
        k[j] = scan_packed(label, movie[j], packed, False, own[j], starts, users, doubled,
                           best_d[j], best_c[j], best_v[j], best_r[j], bucket, limit, kept, ids,
                           shift)  # fmt: skip
    return k
