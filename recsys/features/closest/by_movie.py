"""Closest raters grouped by movie (half-star data). Most movies' targets are scored in lanes
(`lanes`). Where a movie's raters fit as bitmaps (a small catalogue, like the 100-movie
sample) and its targets are many, its raters are listed once by the other movies they rated
(`_co_raters`) and a target first searches the raters who agree with u everywhere
(`_agreeing`), which settles most targets; the rest walk the raters of m who share a movie
with u, adding up c and s for each, and scan R(m) for the nearest."""

from __future__ import annotations

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from recsys.data.interactions import entry
from recsys.features.closest.lanes import LANES, closest_lanes, lanes_cost
from recsys.features.closest.nearest import FEW_COMMON, PACK, best, distance, scan_packed, write

# Agreement searches (`_agreeing`) on one movie before they are tried only while they have
# saved at least the work they cost there.
AGREEMENT_TRIES = 4
# Per thread: a movie's raters listed by movie and rating as bitmaps, for the agreement search,
# when they fit in this, as they do for the 100-movie sample; a catalogue of 17,770 movies
# scores them in lanes. (A search that walked the runs and checked each candidate against u's
# row cost more than it saved on the 10 M and the 100 M sets.)
RUN_BITMAP_BYTES = 32 << 20
# ... and when they take at most this many words an entry of the listing: about 1 on the
# sample, 8.5 for the full set's smaller movies (its 17,770 movies' runs are sparse).
BITMAP_WORDS_PER_ENTRY = 4
# Listing a movie's raters by movie and rating costs about this many ns an entry (19.6 on the
# 100 M set); the searches and walks after it cost at least as much again.
LISTED_NS = 20.0


def rating_values(doubled: np.ndarray) -> np.ndarray:
    """The doubled ratings that occur, ascending (int64): the level of values[l] is l."""
    return np.flatnonzero(_present(doubled)).astype(np.int64)


def level_table(values: np.ndarray) -> np.ndarray:
    """Each doubled rating 0..127's level among ``values`` (int8; unused entries 0)."""
    table = np.zeros(128, np.int8)
    table[values] = np.arange(len(values))
    return table


def levels_of(doubled: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, int]:
    """Each doubled rating as its level among the values present (0 = the lowest), int8, and
    how many levels there are: a movie's raters listed by rating take one run a level."""
    return _look_up(level_table(values), doubled), len(values)


@numba.njit(cache=True)
def _present(doubled):
    """Which of the doubled ratings 0..127 occur: one pass, no copy of the ratings."""
    seen = np.zeros(128, np.bool_)
    for x in doubled:
        seen[x] = True
    return seen


@numba.njit(cache=True)
def _look_up(table, keys):
    out = np.empty(len(keys), table.dtype)
    for k in range(len(keys)):
        out[k] = table[keys[k]]
    return out


@numba.njit(cache=True)
def _co_raters(m, u_ptr, u_items, u_doubled, u_level, levels, i_ptr, i_users, starts):
    """The raters of m by the other movies they rated and their rating of it: for movie i and
    level l, the slots (places in R(m)) of m's raters who gave i that rating and twice the
    rating, at starts[b]:starts[b + 1] of the two arrays returned, b = i·levels + l (so all of
    i's raters at starts[i·levels]:starts[(i + 1)·levels]). Filled rater by rater, so each
    run's slots ascend. Five bytes an entry: 0.37 GiB for the most-rated movie of the 100 M
    Netflix-shaped set, per thread."""
    starts[:] = 0
    for q in range(i_ptr[m], i_ptr[m + 1]):
        v = i_users[q]
        for p in range(u_ptr[v], u_ptr[v + 1]):
            starts[u_items[p] * levels + u_level[p] + 1] += 1
    for b in range(len(starts) - 1):
        starts[b + 1] += starts[b]
    fill = starts[:-1].copy()
    slots = np.empty(starts[-1], np.int32)
    theirs = np.empty(starts[-1], np.int8)
    for q in range(i_ptr[m], i_ptr[m + 1]):
        v = i_users[q]
        for p in range(u_ptr[v], u_ptr[v + 1]):
            b = u_items[p] * levels + u_level[p]
            slots[fill[b]] = q - i_ptr[m]
            theirs[fill[b]] = u_doubled[p]
            fill[b] += 1
    return slots, theirs


@numba.njit(cache=True)
def _count_bits(u, m, k, need, limit, u_ptr, u_items, u_level, levels, runs, rated, planes,
                carry, disagree, agree, listed):  # fmt: skip
    """`_agreeing`'s candidates from bitmaps of the runs (one bit a slot of R(m)): each of u's
    runs is added to counters held bit-sliced (planes[b] holds bit b of every slot's count), a
    word of 64 slots at a time, and the raters who rated one of u's movies otherwise (the
    movie's raters, ``rated``, but not the run) are marked in ``disagree``. The slots counted
    at least ``need`` times and never marked agree with u everywhere: they are listed in slot
    order, with their counts in ``agree``, the first ``limit`` of them. Returns how many."""
    width = 1
    while (1 << width) <= k:
        width += 1
    n_words = runs.shape[1]
    for p in range(u_ptr[u], u_ptr[u + 1]):
        i = u_items[p]
        if i == m:
            continue
        run, movie = runs[i * levels + u_level[p]], rated[i]
        for w in range(n_words):
            disagree[w] |= movie[w] ^ run[w]
        carry[:] = run
        for b in range(width):
            plane = planes[b]
            for w in range(n_words):
                both = plane[w] & carry[w]
                plane[w] ^= carry[w]
                carry[w] = both
    zero, one = np.uint64(0), np.uint64(1)
    count = 0
    for w in range(n_words):
        high = zero
        for b in range(2, width):
            high |= planes[b, w]
        low, second = planes[0, w], planes[1, w] if width > 1 else zero
        if need >= FEW_COMMON:
            enough = high | (second & low)
        elif need == 2:
            enough = high | second
        else:
            enough = high | second | low
        enough &= ~disagree[w]
        while enough and count < limit:
            bit = np.uint64(trailing_zeros(enough))
            enough &= enough - one
            a = 0
            for b in range(width):
                a |= np.int64((planes[b, w] >> bit) & one) << b
            x = w * 64 + np.int64(bit)
            agree[x] = a
            listed[count] = x
            count += 1
    planes[:width] = 0
    disagree[:] = 0
    return count


@numba.njit(cache=True)
def _agreeing(u, m, k, lo, u_ptr, u_items, u_level, levels, i_users, i_ratings, scratch,
              best_d, best_c, best_v, best_r):  # fmt: skip
    """The n nearest raters of m to u when they all agree with u on every common movie: the
    number found (n), or -1 when there are not n such raters with a >= min(3, k) and the walk
    must decide; and the words it read.

    A rater v who agrees on all of its c common movies ranks by c alone (d = 0 when c >= 3,
    else 3.5·(3 - c)), so the nearest agreeing raters are those who give u's rating to the
    most of u's k other movies (a, their agreement), then the smallest indices: any other
    rater agrees on no more movies, comes later in index order at equal a, or disagrees
    somewhere and is farther than one at d = 0 (or, for k < 3, has fewer common movies or a
    larger s). `_count_bits` lists the raters who agree everywhere with a >= min(3, k)."""
    agree, listed, bucket, runs, rated, planes, carry, disagree = scratch
    n = len(best_d)
    need = min(FEW_COMMON, k)
    n_slots = len(agree)
    if k == 0:  # every rater is at 10.5: the first by index
        count = min(n_slots, n + 1)
        listed[:count] = np.arange(count)
    else:  # with need = k every listed rater agrees on all k movies: the first n + 1 are enough
        limit = n + 1 if need == k else n_slots
        count = _count_bits(u, m, k, need, limit, u_ptr, u_items, u_level, levels, runs, rated,
                            planes, carry, disagree, agree, listed)  # fmt: skip
    # The listed raters (in slot order) by agreement, most first: a stable counting sort.
    bucket[: k + 2] = 0
    for j in range(count):
        bucket[k - agree[listed[j]] + 1] += 1
    for a in range(k + 1):
        bucket[a + 1] += bucket[a]
    fill = bucket[: k + 1].copy()
    ordered = np.empty(count, np.int32)
    for j in range(count):
        x = listed[j]
        ordered[fill[k - agree[x]]] = x
        fill[k - agree[x]] += 1
    found = 0
    for x in ordered:
        v = i_users[lo + x]
        if v == u:
            continue
        c = agree[x]
        best_d[found], best_c[found] = distance(c, 0.0), c
        best_v[found], best_r[found] = v, i_ratings[lo + x]
        found += 1
        if found == n:
            break
    for j in range(count):
        agree[listed[j]] = 0
    return (found if found == n else -1), k * runs.shape[1] + count


@numba.njit(cache=True)
def _fits_bitmaps(n_slots, n_items, levels, entries):
    """Whether a movie's runs by movie and rating fit as bitmaps of its n_slots raters (with
    each movie's raters and the counters beside them) in RUN_BITMAP_BYTES, at most
    BITMAP_WORDS_PER_ENTRY words an entry of its listing (``entries`` of them)."""
    words = (n_items * levels + n_items) * ((n_slots + 63) // 64)
    return words * 8 <= RUN_BITMAP_BYTES and words <= BITMAP_WORDS_PER_ENTRY * entries


@numba.njit(cache=True)
def uses_lanes(n_slots, n_items, levels, entries, size):
    """Whether ``size`` targets of a movie (n_slots raters, ``entries`` ratings by them) are
    scored in lanes (`closest_lanes`) rather than searched and walked: wherever the movie's
    listing does not fit as bitmaps, and elsewhere where the lanes cost less than listing it
    twice over (the sample's movies, a few thousand raters with thousands of targets each,
    are searched; a movie of the 100 M set with a few targets is not)."""
    if not _fits_bitmaps(n_slots, n_items, levels, entries):
        return True
    return lanes_cost(entries, n_slots, size) < 2 * LISTED_NS * entries


@numba.njit(cache=True)
def _run_bitmaps(n_slots, starts, slots, levels):
    """Each run of `_co_raters` (by movie and rating) as a bitmap of R(m)'s slots, each
    movie's raters (its runs together) and room for `_count_bits`' counters."""
    n_words = (n_slots + 63) // 64
    n_runs = len(starts) - 1
    runs = np.zeros((n_runs, n_words), np.uint64)
    rated = np.zeros((n_runs // levels, n_words), np.uint64)
    for b in range(n_runs):
        for e in range(starts[b], starts[b + 1]):
            runs[b, slots[e] >> 6] |= np.uint64(1) << np.uint64(slots[e] & 63)
        rated[b // levels] |= runs[b]
    width = 1  # bits of a count up to the movies a user rated (fewer than n_items)
    while (1 << width) <= n_runs // levels:
        width += 1
    return runs, rated, np.zeros((width, n_words), np.uint64)


@numba.njit(cache=True, parallel=True)
def closest_by_movie(
    n_items, u_ptr, u_items, u_doubled, i_ptr, i_users, i_doubled, i_ratings, u_level, levels,
    spread, user, item, order, bounds, chunks, ratings, distances, raters,
):  # fmt: skip
    """Exact closest raters of targets grouped by movie, on half-star data: a group of a
    movie's targets goes to `closest_lanes` where `uses_lanes` says so. Otherwise the raters
    of m are listed by the other movies they rated and their rating (`_co_raters`, cost
    Σ_{v∈R(m)} |I_v|), a target first looks for n raters who agree with u everywhere
    (`_agreeing`; a movie whose searches have cost more than they saved stops searching), and
    else walks every rater of m who shares a movie with u, adding to one int64 a slot of R(m)
    that packs c and 2s (c << 32 | 2s); `scan_packed` of the slots picks the nearest. The
    target's own movie is never walked, so its rating takes no part, in or out of the
    history."""
    n = ratings.shape[1]
    one = np.int64(1) << PACK
    for chunk in numba.prange(len(chunks) - 1):
        starts = np.empty(n_items * levels + 1, np.int64)
        bucket = np.empty(n_items + 2, np.int64)
        best_d, best_c, best_v, best_r = best(n)
        lane_rows = np.zeros((0, LANES), np.uint8)  # `closest_lanes`' rows, made when needed
        row_of = np.zeros(0, np.int32)
        for g in range(chunks[chunk], chunks[chunk + 1]):
            m = item[order[bounds[g]]]
            lo, n_slots = i_ptr[m], i_ptr[m + 1] - i_ptr[m]
            entries = 0
            for q in range(lo, lo + n_slots):
                entries += u_ptr[i_users[q] + 1] - u_ptr[i_users[q]]
            if uses_lanes(n_slots, n_items, levels, entries, bounds[g + 1] - bounds[g]):
                if lane_rows.shape[0] == 0:
                    lane_rows = np.zeros((n_items, LANES), np.uint8)
                    row_of = np.full(n_items, -1, np.int32)
                closest_lanes(m, order[bounds[g] : bounds[g + 1]], user, u_ptr, u_items,
                              u_doubled, i_ptr, i_users, i_ratings, spread, lane_rows, row_of,
                              ratings, distances, raters)  # fmt: skip
                continue
            listing = starts[: n_items * levels + 1]
            slots, theirs = _co_raters(m, u_ptr, u_items, u_doubled, u_level, levels, i_ptr,
                                       i_users, listing)  # fmt: skip
            packed = np.zeros(n_slots, np.int64)
            runs, rated, planes = _run_bitmaps(n_slots, listing, slots, levels)
            scratch = (np.zeros(n_slots, np.int32), np.empty(n_slots, np.int32), bucket, runs,
                       rated, planes, np.empty(runs.shape[1], np.uint64),
                       np.zeros(runs.shape[1], np.uint64))  # fmt: skip
            tried, saved = 0, 0
            for j in range(bounds[g], bounds[g + 1]):
                t = order[j]
                u = user[t]
                k = -1
                if tried < AGREEMENT_TRIES or saved >= 0:
                    tried += 1
                    full = n_slots  # what the walk and scan would read
                    for p in range(u_ptr[u], u_ptr[u + 1]):
                        i = u_items[p]
                        full += (listing[(i + 1) * levels] - listing[i * levels]) * (i != m)
                    others = u_ptr[u + 1] - u_ptr[u] - (entry(u_ptr, u_items, u, m) >= 0)
                    k, work = _agreeing(u, m, others, lo, u_ptr, u_items, u_level, levels,
                                        i_users, i_ratings, scratch, best_d, best_c, best_v,
                                        best_r)  # fmt: skip
                    saved += (full if k >= 0 else 0) - work
                if k < 0:
                    for p in range(u_ptr[u], u_ptr[u + 1]):
                        i = u_items[p]
                        if i == m:
                            continue
                        r = np.int64(u_doubled[p])
                        for e in range(listing[i * levels], listing[(i + 1) * levels]):
                            packed[slots[e]] += one + abs(r - np.int64(theirs[e]))
                    k = scan_packed(u, m, packed, True, -1, i_ptr, i_users, i_doubled,
                                    best_d, best_c, best_v, best_r)  # fmt: skip
                    packed[:] = 0
                write(t, k, best_d, best_v, best_r, ratings, distances, raters)
