"""The closest raters of a target (u, m): the users who rated m and rate most like u (SPEC §3).

For a candidate v in R(m) (the users other than u who rated m), with C the movies other than m
that both rated, c = |C| and s = Σ_{i∈C} |r_ui − r_vi|, the distance is d = 3·s/c when c ≥ 3,
else s + 3.5·(3 − c). Ties go to more common movies, then to the smaller user index (indices
follow the sorted raw ids, so this is the smaller user id).

The exact algorithm groups targets by user or by movie, whichever costs less (`_plan`). By user:
for a user u it sweeps the raters of each movie u rated, adding to c[v] and s[v] for every
co-rater v (cost Σ_{i∈I_u} n_i), then scans R(m) for each of u's targets, taking m's own
contribution back out when u rated m in the history (so the target's own rating is never used,
in or out of the history). By movie (ratings on a half-star grid): the raters of m are listed
by the other movies they rated and their rating, once a movie. A target first looks for raters
who agree with u on every movie they share (`_agreeing`): these rank by their common count
alone, so checking the raters who give u's rating to the most of u's movies, most first,
settles it when n of them agree everywhere, reading only the runs of u's own ratings. Failing
that, it walks the raters of m who share a movie with u, which is what the overlaps cost.
Chunks of groups run in parallel.

`max_candidates` trades exactness for speed on very popular movies (the full Netflix data,
where one sweep per user costs Σ n_i² = 5.6e12 co-rater visits in all): only that many raters
of m are examined, the ones with the most ratings. The examined raters of all targeted movies
form a pool whose rows are laid out densely (one byte a movie, a code of the rating), so that
c and s of a pair take one look-up per movie of u, however many movies v rated; once per pair
and target user, since the same heavy raters come back for many of u's movies.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from recsys.data.interactions import Interactions, entry
from recsys.progress import advance

log = logging.getLogger(__name__)

PROGRESS_BATCHES = 16  # kernel calls for a big set of targets, each followed by a report
FEW_COMMON = 3  # common movies that carry a comparison
MISSING_COST = 3.5  # the distance each missing one of those adds
LANDING_SAMPLE = 64  # targets whose walk is measured to plan a grouping by movie
# A co-rater visit of a user's sweep costs about 1.5 of a movie's walk: its scratch spans every
# user, not the raters of one movie (`benchmarks/netflix_scale.py closest`, both groupings).
SWEEP_VISIT = 1.5
# Agreement searches (`_agreeing`) on one movie before they are tried only while they have
# saved at least the work they cost there.
AGREEMENT_TRIES = 4
# Per thread: a movie's runs of raters (`_co_raters`) as bitmaps when they fit in this, as they
# do for the 100-movie sample; a catalogue of 17,770 movies walks them instead.
RUN_BITMAP_BYTES = 32 << 20
# ... and when they take at most this many words an entry of the listing: about 1 on the
# sample, 8.5 for the full set's smaller movies (its 17,770 movies' runs are sparse).
BITMAP_WORDS_PER_ENTRY = 4


#: Answers kept by `reusing`: (history, user, item, (n, max_candidates, group_by), answer).
_kept: ContextVar[list | None] = ContextVar("recsys_closest_kept", default=None)


@contextmanager
def reusing() -> Iterator[None]:
    """Within the block, `closest_raters` asked again for the same history, targets and
    options gives its first answer instead of computing it again: the blend reads the closest
    raters for its features and through its closest-raters base model."""
    token = _kept.set([])
    try:
        yield
    finally:
        _kept.reset(token)


@dataclass(frozen=True)
class ClosestRaters:
    """The n closest raters of each target, nearest first: (n_targets, n) arrays.

    Where R(m) holds fewer than n users, ``ratings`` and ``distances`` are NaN and ``raters``
    is -1.
    """

    ratings: np.ndarray  # float32: r_vm
    distances: np.ndarray  # float32: d(u, v)
    raters: np.ndarray  # int32: v, a user index


def closest_raters(
    history: Interactions,
    user: np.ndarray,
    item: np.ndarray,
    *,
    n: int = 4,
    max_candidates: int | None = None,
    group_by: str | None = None,
) -> ClosestRaters:
    """The ``n`` closest raters of m for each target (u, m), exactly as SPEC §3 defines them.

    ``user`` and ``item`` are index arrays into ``history``'s vocabularies; a target with an
    unknown user or movie (-1) gets no raters. ``max_candidates=None`` (the default) is exact.
    An integer only speeds things up and makes the result approximate: for each target just
    the ``max_candidates`` raters of m with the most ratings in the history (ties: smaller
    index) are examined, since users who rated more are the likeliest to share the three
    movies a close comparison needs; their distances are still exact.

    ``group_by`` ("user" or "movie") fixes how the exact search walks the targets; by default
    it takes whichever its estimate says costs less. The answer is the same either way.
    Grouping by movie needs ratings on a half-star grid (every usual scale).
    """
    if group_by not in (None, "user", "movie"):
        raise ValueError(f"group_by must be 'user', 'movie' or None, got {group_by!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if max_candidates is not None and max_candidates < 1:
        raise ValueError(f"max_candidates must be >= 1 or None, got {max_candidates}")
    user, item = _targets(history, user, item)
    kept = _kept.get()
    if kept is not None:
        for h, u, i, options, answer in kept:
            same = h is history and options == (n, max_candidates, group_by)
            if same and np.array_equal(u, user) and np.array_equal(i, item):
                return answer
    answer = _closest_raters(history, user, item, n, max_candidates, group_by)
    if kept is not None:
        kept.append((history, user, item, (n, max_candidates, group_by), answer))
    return answer


def grouping(history: Interactions, user: np.ndarray, item: np.ndarray) -> str:
    """How the exact search of `closest_raters` would walk these targets: "user" or "movie"."""
    user, item = _targets(history, user, item)
    valid = np.flatnonzero((user >= 0) & (item >= 0))
    if not (len(valid) and len(history)):
        return "user"
    half_stars = _doubled_ratings(history) is not None
    plan = _plan(history, user, item, valid, None, None, half_stars, numba.get_num_threads())
    return "movie" if plan[3] else "user"


def _closest_raters(history, user, item, n, max_candidates, group_by) -> ClosestRaters:
    ratings = np.full((len(user), n), np.nan, np.float32)
    distances = np.full((len(user), n), np.nan, np.float32)
    raters = np.full((len(user), n), -1, np.int32)
    valid = np.flatnonzero((user >= 0) & (item >= 0))
    if len(valid) and len(history):
        threads = numba.get_num_threads()
        doubled = _doubled_ratings(history) if max_candidates is None else None
        if group_by == "movie" and doubled is None:
            raise ValueError("group_by='movie' needs ratings on a half-star grid, uncapped")
        order, bounds, cost, by_movie = _plan(history, user, item, valid, max_candidates,
                                              group_by, doubled is not None, threads)  # fmt: skip
        # Chunks of about equal work, run a batch at a time so a front end can show progress.
        batches = min(PROGRESS_BATCHES, max(1, len(cost) // 1000))
        chunks = _chunks(cost, threads * batches)
        per_batch = max(1, -(-(len(chunks) - 1) // batches))
        csr_u, csr_i = history.by_user, history.by_item
        if max_candidates is not None:
            codes = _codes(csr_u.ratings)
            pool = _pool(history, item[valid], max_candidates, codes[0])
        levels = _levels(doubled[0]) if by_movie else None
        by_user = (csr_u.indptr, csr_u.indices, csr_u.ratings)
        by_item = (csr_i.indptr, csr_i.indices, csr_i.ratings)
        for lo in range(0, len(chunks) - 1, per_batch):
            batch = chunks[lo : lo + per_batch + 1]
            args = (user, item, order, bounds, batch, ratings, distances, raters)
            if doubled is not None:  # half-star data: packed integer sums, one word a rater
                packed_rows = (*by_user[:2], doubled[0], *by_item[:2], doubled[1], by_item[2])
                if by_movie:
                    _closest_by_movie(history.n_items, *packed_rows, *levels, *args)
                else:
                    _closest_packed(history.n_users, *packed_rows, *args)
            elif max_candidates is None:
                _closest_exact(history.n_users, *by_user, *by_item, *args)
            else:
                _closest_pooled(*pool, *codes, max_candidates, csr_u.indptr, csr_u.indices,
                                *args)  # fmt: skip
            done = int(bounds[batch[-1]] - bounds[batch[0]])
            advance("closest raters (targets)", done, len(valid))
    return ClosestRaters(ratings, distances, raters)


def _plan(history, user, item, valid, max_candidates, group_by, half_stars, threads):
    """How to walk the targets: (order of the targets, bounds of its groups, each group's
    estimated work, whether groups are movies rather than users).

    Grouped by user, one sweep over u's co-raters (Σ_{i∈I_u} n_i) serves all of u's targets
    and each target scans R(m). Grouped by movie (exact, half-star data), listing R(m) by the
    other movies its raters rated costs Σ_{v∈R(m)} |I_v| once a movie, and a target walks the
    part of u's sweep that lands on raters of m, measured on a few targets (`_landing`).
    Movies win when targets are many per movie and few per user (an evaluation's test
    ratings, every rating left out in turn); users win for a user's many movies. A movie with
    many targets is cut into pieces so that every thread has work."""
    csr_u, csr_i = history.by_user, history.by_item
    n_m = csr_i.counts[item].astype(np.float64)
    order, bounds = _groups(user, valid, len(valid))
    heads = user[order[bounds[:-1]]]
    if max_candidates is not None:  # capped: about one walk of u's row per candidate
        scanned = np.add.reduceat(np.minimum(n_m[order], max_candidates), bounds[:-1])
        return order, bounds, scanned * (csr_u.counts[heads] + 1), False
    sweep = np.zeros(history.n_users)  # Σ_{i∈I_u} n_i, for the target users only
    sweep[heads] = _row_sums(csr_u.indptr, csr_u.indices, csr_i.counts, heads)
    by_user = SWEEP_VISIT * sweep[heads] + np.add.reduceat(n_m[order], bounds[:-1])
    if not half_stars or group_by == "user":
        return order, bounds, by_user, False
    movies = np.unique(item[valid])
    listed = np.zeros(history.n_items)  # Σ_{v∈R(m)} |I_v|, for the target movies only
    listed[movies] = _row_sums(csr_i.indptr, csr_i.indices, csr_u.counts, movies)
    piece = max(1, len(valid) // (threads * PROGRESS_BATCHES * 4))
    m_order, m_bounds = _groups(item, valid, piece)
    lists = listed[item[m_order[m_bounds[:-1]]]]
    if group_by is None and lists.sum() + n_m[valid].sum() >= by_user.sum():
        return order, bounds, by_user, False  # listing the movies alone costs more
    walk = np.minimum(_landing(history, user, item, valid, sweep) * sweep[user], listed[item])
    by_movie = lists + np.add.reduceat((walk + n_m)[m_order], m_bounds[:-1])
    if group_by == "movie" or by_movie.sum() < by_user.sum():
        return m_order, m_bounds, by_movie, True
    return order, bounds, by_user, False


def _landing(history, user, item, valid, sweep) -> float:
    """The share of a target user's sweep that lands on raters of the target movie, measured
    on LANDING_SAMPLE targets drawn in proportion to their users' sweeps (seeded, so the same
    targets get the same plan): Σ_t share_t · sweep_t estimates what grouping by movie walks."""
    weights = sweep[user[valid]]
    if weights.sum() == 0:
        return 0.0
    picked = np.random.default_rng(0).choice(valid, LANDING_SAMPLE, p=weights / weights.sum())
    csr_u, csr_i = history.by_user, history.by_item
    shares = _landing_shares(user[picked], item[picked], csr_u.indptr, csr_u.indices,
                             csr_i.indptr, csr_i.indices, history.n_users)  # fmt: skip
    return float(shares.mean())


@numba.njit(cache=True)
def _row_sums(indptr, indices, weights, rows):
    """Σ weights[column] over each of ``rows`` of a CSR (float64): one pass over those rows."""
    sums = np.zeros(len(rows))
    for k in range(len(rows)):
        for p in range(indptr[rows[k]], indptr[rows[k] + 1]):
            sums[k] += weights[indices[p]]
    return sums


@numba.njit(cache=True)
def _landing_shares(user, item, u_ptr, u_items, i_ptr, i_users, n_users):
    raters = np.zeros(n_users, np.bool_)
    shares = np.zeros(len(user))
    for t in range(len(user)):
        u, m = user[t], item[t]
        for q in range(i_ptr[m], i_ptr[m + 1]):
            raters[i_users[q]] = True
        walked, landed = 0, 0
        for p in range(u_ptr[u], u_ptr[u + 1]):
            i = u_items[p]
            if i != m:
                for q in range(i_ptr[i], i_ptr[i + 1]):
                    walked += 1
                    landed += raters[i_users[q]]
        shares[t] = landed / walked if walked else 0.0
        for q in range(i_ptr[m], i_ptr[m + 1]):
            raters[i_users[q]] = False
    return shares


def _groups(key: np.ndarray, valid: np.ndarray, piece: int) -> tuple[np.ndarray, np.ndarray]:
    """The valid targets ordered by key (stably) and the bounds of their groups: runs of one
    key, cut every ``piece`` targets."""
    order = valid[np.argsort(key[valid], kind="stable")]
    keys = key[order]
    position = np.arange(len(order))
    new = np.r_[True, keys[1:] != keys[:-1]]
    run_start = np.maximum.accumulate(np.where(new, position, 0))
    starts = np.flatnonzero(new | ((position - run_start) % piece == 0))
    return order, np.r_[starts, len(order)].astype(np.int64)


def nearest_users(
    history: Interactions, user: int, n: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``n`` users closest to ``user`` over all the movies both rated (no movie left out).

    Only users with at least one movie in common count. Returns (user indices int32,
    distances float32, common counts int32), nearest first, ties as in `closest_raters`;
    an unknown user (-1) has none.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not -1 <= user < history.n_users:
        raise ValueError(f"user index {user} outside 0..{history.n_users - 1}")
    if user < 0:
        return np.empty(0, np.int32), np.empty(0, np.float32), np.empty(0, np.int32)
    csr_u, csr_i = history.by_user, history.by_item
    raters, distances, common = _nearest(
        int(user), n, history.n_users, csr_u.indptr, csr_u.indices, csr_u.ratings,
        csr_i.indptr, csr_i.indices, csr_i.ratings,
    )  # fmt: skip
    return raters, distances.astype(np.float32), common


def _targets(history: Interactions, user, item) -> tuple[np.ndarray, np.ndarray]:
    user = np.asarray(user, dtype=np.int64).ravel()
    item = np.asarray(item, dtype=np.int64).ravel()
    if len(user) != len(item):
        raise ValueError(f"{len(user)} users but {len(item)} items")
    for name, index, size in (("user", user, history.n_users), ("item", item, history.n_items)):
        if len(index) and (index.min() < -1 or index.max() >= size):
            raise ValueError(f"{name} indices must lie in -1..{size - 1}")
    return user, item


def _doubled_ratings(history: Interactions) -> tuple[np.ndarray, np.ndarray] | None:
    """Twice each rating as int8, by user and by item, when every rating is a multiple of 0.5
    in 0..63.5 (every usual scale); None otherwise. |r_u - r_v| sums are then exact integers
    that pack beside the common count in one int64 a co-rater."""
    if len(history) == 0:
        return None
    by_user, by_item = history.by_user.ratings, history.by_item.ratings
    doubled = 2 * by_user.astype(np.float64)
    if doubled.min() < 0 or doubled.max() > 127 or not (doubled == np.round(doubled)).all():
        return None
    return doubled.astype(np.int8), (2 * by_item).astype(np.int8)


def _chunks(cost: np.ndarray, threads: int) -> np.ndarray:
    """Boundaries splitting consecutive groups into chunks of about equal work (a few per
    thread, so one heavy user does not leave the other threads idle)."""
    n_chunks = min(len(cost), 4 * max(threads, 1))
    total = np.cumsum(cost, dtype=np.float64)
    cuts = np.searchsorted(total, total[-1] * np.arange(1, n_chunks) / n_chunks, side="right")
    return np.unique(np.r_[0, cuts, len(cost)]).astype(np.int64)


def _codes(ratings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each rating as a code (1.. the number of distinct values; 0 is "not rated") and the
    value of each code: a byte a rating on every usual scale."""
    values, codes = np.unique(ratings, return_inverse=True)
    dtype = np.uint8 if len(values) < 2**8 else np.uint16 if len(values) < 2**16 else np.uint32
    return (codes + 1).astype(dtype), np.r_[np.nan, values].astype(np.float64)


def _pool(history: Interactions, items: np.ndarray, cap: int, codes: np.ndarray):
    """The examined raters of each targeted movie, the ones with the most ratings first
    (ties: smaller index), cap + 1 of them so that cap remain once the target user is
    skipped; and the pool they form, its rows dense: (pointers, raters' pool slots, their
    ratings of the movie, the pool's rows as the ``codes`` of `_codes`)."""
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


@numba.njit(cache=True)
def _distance(c, s):
    if c >= FEW_COMMON:
        return 3.0 * s / c
    return s + MISSING_COST * (FEW_COMMON - c)


@numba.njit(cache=True)
def _before(d, c, v, other_d, other_c, other_v):
    """Whether (d, c, v) ranks nearer than the other: smaller d, then larger c, then smaller v."""
    if d != other_d:
        return d < other_d
    if c != other_c:
        return c > other_c
    return v < other_v


@numba.njit(cache=True)
def _best(n):
    """Room for the n best so far: distances, common counts, raters and their ratings."""
    return (
        np.empty(n, np.float64),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.float32),
    )


@numba.njit(cache=True)
def _offer(d, c, v, r, k, best_d, best_c, best_v, best_r):
    """Insert (d, c, v) with rating r among the k best so far, kept in rank order; the new k."""
    if k == len(best_d):
        if not _before(d, c, v, best_d[k - 1], best_c[k - 1], best_v[k - 1]):
            return k
        j = k - 1
    else:
        j = k
        k += 1
    while j > 0 and _before(d, c, v, best_d[j - 1], best_c[j - 1], best_v[j - 1]):
        best_d[j], best_c[j] = best_d[j - 1], best_c[j - 1]
        best_v[j], best_r[j] = best_v[j - 1], best_r[j - 1]
        j -= 1
    best_d[j], best_c[j], best_v[j], best_r[j] = d, c, v, r
    return k


@numba.njit(cache=True)
def _accumulate(u, u_ptr, u_items, u_ratings, i_ptr, i_users, i_ratings, common, diff, touched):
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
def _leave_out(c, s, own, theirs):
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


@numba.njit(cache=True)
def _write(t, k, best_d, best_v, best_r, ratings, distances, raters):
    for j in range(k):
        ratings[t, j] = best_r[j]
        distances[t, j] = best_d[j]
        raters[t, j] = best_v[j]


@numba.njit(cache=True, parallel=True)
def _closest_exact(
    n_users, u_ptr, u_items, u_ratings, i_ptr, i_users, i_ratings,
    user, item, order, bounds, chunks, ratings, distances, raters,
):  # fmt: skip
    n = ratings.shape[1]
    for chunk in numba.prange(len(chunks) - 1):
        common = np.zeros(n_users, np.int64)
        diff = np.zeros(n_users, np.float64)
        touched = np.empty(n_users, np.int64)
        best_d, best_c, best_v, best_r = _best(n)
        for g in range(chunks[chunk], chunks[chunk + 1]):
            u = user[order[bounds[g]]]
            n_touched = _accumulate(
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
                    c, s = _leave_out(common[v], diff[v], own, i_ratings[q])
                    k = _offer(
                        _distance(c, s), c, v, i_ratings[q], k, best_d, best_c, best_v, best_r
                    )
                _write(t, k, best_d, best_v, best_r, ratings, distances, raters)
            for j in range(n_touched):
                common[touched[j]] = 0
                diff[touched[j]] = 0.0


PACK = 32  # the common count sits above bit 32 of a packed sum, twice s below it
LOW = (1 << PACK) - 1


@numba.njit(cache=True)
def _fraction(c, d):
    """The distance d of a rater with c common movies as num / den (d = num / den exactly)."""
    if c < FEW_COMMON:
        return np.int64(round(2 * d)), np.int64(2)
    return np.int64(round(d * 2 * c)), 2 * c


@numba.njit(cache=True)
def _scan_packed(u, m, packed, by_slot, own, i_ptr, i_users, i_doubled, i_ratings,
                 best_d, best_c, best_v, best_r):  # fmt: skip
    """The nearest raters of m to u from packed sums (c << 32 | 2s), one a rater of m at
    packed[slot in R(m)] (``by_slot``) or at packed[v]; ``own`` is twice u's rating of m when
    the sums include m (taken back out: the target's own movie is never compared), else -1.
    Most raters are rejected on one comparison with the n-th best; returns how many were kept.
    """
    n = len(best_d)
    held = np.int64(own >= 0)
    lo = i_ptr[m]
    k = 0
    # The n-th best distance as an exact fraction worst_num / worst_den: testing a rater
    # against it takes two integer products, no division.
    worst_num, worst_den, worst_c = np.int64(1), np.int64(0), np.int64(0)
    for q in range(lo, i_ptr[m + 1]):
        v = i_users[q]
        word = packed[q - lo] if by_slot else packed[v]
        c = (word >> PACK) - held
        s2 = (word & LOW) - held * abs(own - np.int64(i_doubled[q]))
        few = c < FEW_COMMON  # d = (s2 + 7(3 - c)) / 2, else 3 s2 / 2c
        num = s2 + 7 * (FEW_COMMON - c) if few else 3 * s2
        den = np.int64(2) if few else 2 * c
        lhs, rhs = num * worst_den, worst_num * den
        # R(m) is sorted by index, so an equal (d, c) arriving later always loses.
        if lhs > rhs or (lhs == rhs and c <= worst_c) or v == u:
            continue
        k = _offer(num / den, c, v, i_ratings[q], k, best_d, best_c, best_v, best_r)
        if k == n:
            worst_c = best_c[n - 1]
            worst_num, worst_den = _fraction(worst_c, best_d[n - 1])
    return k


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
def _closest_packed(
    n_users, u_ptr, u_items, u_doubled, i_ptr, i_users, i_doubled, i_ratings,
    user, item, order, bounds, chunks, ratings, distances, raters,
):  # fmt: skip
    """`_closest_exact` on half-star data: a co-rater's c and 2s in one int64 (c << 32 | 2s),
    one read-modify-write a co-rater in the sweep, and `_scan_packed` of R(m)."""
    n = ratings.shape[1]
    one = np.int64(1) << PACK
    for chunk in numba.prange(len(chunks) - 1):
        packed = np.zeros(n_users, np.int64)
        best_d, best_c, best_v, best_r = _best(n)
        for g in range(chunks[chunk], chunks[chunk + 1]):
            u = user[order[bounds[g]]]
            _sweep(u, u_ptr, u_items, u_doubled, i_ptr, i_users, i_doubled, packed, one)
            for j in range(bounds[g], bounds[g + 1]):
                t = order[j]
                m = item[t]
                own = _own_doubled(u, m, u_ptr, u_items, u_doubled)
                k = _scan_packed(u, m, packed, False, own, i_ptr, i_users, i_doubled, i_ratings,
                                 best_d, best_c, best_v, best_r)  # fmt: skip
                _write(t, k, best_d, best_v, best_r, ratings, distances, raters)
            _sweep(u, u_ptr, u_items, u_doubled, i_ptr, i_users, i_doubled, packed, 0)


def _levels(doubled: np.ndarray) -> tuple[np.ndarray, int]:
    """Each doubled rating as its level among the values present (0 = the lowest), int8, and
    how many levels there are: a movie's raters listed by rating take one run a level."""
    present = np.bincount(doubled.astype(np.int64), minlength=128) > 0
    level = (np.cumsum(present) - 1).astype(np.int8)
    return level[doubled.astype(np.int64)], int(present.sum())


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
def _agreeing(u, m, k, lo, budget, u_ptr, u_items, u_doubled, u_level, levels, i_users,
              i_ratings, starts, slots, scratch, best_d, best_c, best_v, best_r):  # fmt: skip
    """The n nearest raters of m to u when they all agree with u on every common movie: the
    number found (n), or -1 when that is not shown within ``budget`` (rating entries read) and
    the full walk must decide; and the entries it read.

    A rater v who agrees on all of its c common movies ranks by c alone (d = 0 when c >= 3,
    else 3.5·(3 - c)), so the nearest agreeing raters are those who give u's rating to the
    most of u's k other movies (a, their agreement), then the smallest indices. Raters with
    a >= min(3, k) are collected by walking the runs of u's ratings only (`_co_raters`), then
    checked in order of a, most first, against u's row; the first n who agree everywhere are
    the answer: any rater not yet checked agrees on no more movies, comes later in index order
    at equal a, and any rater who disagrees somewhere is farther than one at d = 0 (or, for
    k < 3, has fewer common movies or a larger s). From bitmaps (`_count_bits`) only raters
    who agree everywhere are collected, and no check is needed."""
    agree, listed, mine, bucket, runs, rated, planes, carry, disagree = scratch
    n = len(best_d)
    need = min(FEW_COMMON, k)
    count, walked = 0, 0
    n_slots = len(agree)
    bitmaps = runs.shape[0] > 0
    if k == 0:  # every rater is at 10.5: the first by index
        count = min(n_slots, n + 1)
        listed[:count] = np.arange(count)
    elif bitmaps:
        # With need = k every listed rater agrees on all k movies: the first n + 1 are enough.
        limit = n + 1 if need == k else n_slots
        count = _count_bits(u, m, k, need, limit, u_ptr, u_items, u_level, levels, runs, rated,
                            planes, carry, disagree, agree, listed)  # fmt: skip
        walked = k * runs.shape[1]  # words, not entries
    for p in range(u_ptr[u], u_ptr[u + 1]):  # walking the runs: u's row to check against
        i = u_items[p]
        if i == m or bitmaps:
            continue
        mine[i] = u_doubled[p]
        b = i * levels + u_level[p]
        walked += starts[b + 1] - starts[b]
        for e in range(starts[b], starts[b + 1]):
            x = slots[e]
            agree[x] += 1
            if agree[x] == need:
                listed[count] = x
                count += 1
    # The collected raters by agreement, most first (a counting sort; a run is sorted by slot
    # only when it is reached).
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
    found, work = 0, walked + count
    for a in range(k + 1):
        if found == n or work > budget:
            break
        run = ordered[bucket[a] : bucket[a + 1]]
        if not bitmaps:  # bitmaps list in slot order, and the counting sort keeps it
            run.sort()
        for x in run:
            v = i_users[lo + x]
            if v == u:
                continue
            if work > budget:
                break
            c = agree[x]  # listed from bitmaps: agrees everywhere, so c is its agreement
            if not bitmaps:  # check against u's row
                work += u_ptr[v + 1] - u_ptr[v]
                for p in range(u_ptr[v], u_ptr[v + 1]):
                    i = u_items[p]
                    if i != m and mine[i] >= 0 and mine[i] != u_doubled[p]:
                        c = -1
                        break
            if c >= 0:  # agrees everywhere: c = its agreement
                best_d[found], best_c[found] = _distance(c, 0.0), c
                best_v[found], best_r[found] = v, i_ratings[lo + x]
                found += 1
                if found == n:
                    break
    for p in range(u_ptr[u], u_ptr[u + 1]):
        i = u_items[p]
        if i == m:
            continue
        mine[i] = -1
        if not bitmaps and 8 * walked <= n_slots:  # few touched: reset them, else all below
            b = i * levels + u_level[p]
            for e in range(starts[b], starts[b + 1]):
                agree[slots[e]] = 0
    if bitmaps:
        for j in range(count):
            agree[listed[j]] = 0
    elif 8 * walked > n_slots:
        agree[:] = 0
    return (found if found == n else -1), work


@numba.njit(cache=True)
def _run_bitmaps(n_slots, starts, slots, levels):
    """Each run of `_co_raters` as a bitmap of R(m)'s slots, each movie's raters (its runs
    together) and room for `_count_bits`' counters, where they fit in RUN_BITMAP_BYTES and
    are not much sparser than the listing; else empty arrays (the runs are walked)."""
    n_words = (n_slots + 63) // 64
    n_runs = len(starts) - 1
    words = (n_runs + n_runs // levels) * n_words
    if words * 8 > RUN_BITMAP_BYTES or words > BITMAP_WORDS_PER_ENTRY * len(slots):
        empty = np.zeros((0, 0), np.uint64)
        return empty, empty, empty
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
def _closest_by_movie(
    n_items, u_ptr, u_items, u_doubled, i_ptr, i_users, i_doubled, i_ratings, u_level, levels,
    user, item, order, bounds, chunks, ratings, distances, raters,
):  # fmt: skip
    """Exact closest raters of targets grouped by movie, on half-star data. For a movie m the
    raters of m are listed by the other movies they rated and their rating (`_co_raters`,
    cost Σ_{v∈R(m)} |I_v|). A target (u, m) first looks for n raters who agree with u on every
    common movie (`_agreeing`: it walks only the raters who gave u's ratings). Failing that,
    it walks every rater of m who shares a movie with u, adding to one int64 a slot of R(m)
    that packs c and 2s (c << 32 | 2s), and `_scan_packed` of the slots picks the nearest. The
    target's own movie is never walked, so its rating takes no part, in or out of the history.
    A search reads at most what the full walk would; where the searches on a movie have cost
    more than they saved (most targets' nearest raters disagree somewhere), the rest of its
    targets skip it."""
    n = ratings.shape[1]
    one = np.int64(1) << PACK
    for chunk in numba.prange(len(chunks) - 1):
        starts = np.empty(n_items * levels + 1, np.int64)
        mine = np.full(n_items, -1, np.int8)
        bucket = np.empty(n_items + 2, np.int64)
        best_d, best_c, best_v, best_r = _best(n)
        for g in range(chunks[chunk], chunks[chunk + 1]):
            m = item[order[bounds[g]]]
            lo = i_ptr[m]
            slots, theirs = _co_raters(m, u_ptr, u_items, u_doubled, u_level, levels, i_ptr,
                                       i_users, starts)  # fmt: skip
            packed = np.zeros(i_ptr[m + 1] - lo, np.int64)
            runs, rated, planes = _run_bitmaps(len(packed), starts, slots, levels)
            scratch = (np.zeros(len(packed), np.int32), np.empty(len(packed), np.int32), mine,
                       bucket, runs, rated, planes, np.empty(runs.shape[1], np.uint64),
                       np.zeros(runs.shape[1], np.uint64))  # fmt: skip
            tried, saved = 0, 0
            for j in range(bounds[g], bounds[g + 1]):
                t = order[j]
                u = user[t]
                k = -1
                if tried < AGREEMENT_TRIES or saved >= 0:
                    tried += 1
                    full = len(packed)  # what the full walk and scan would read
                    for p in range(u_ptr[u], u_ptr[u + 1]):
                        i = u_items[p]
                        full += (starts[(i + 1) * levels] - starts[i * levels]) * (i != m)
                    others = u_ptr[u + 1] - u_ptr[u] - (entry(u_ptr, u_items, u, m) >= 0)
                    k, work = _agreeing(
                        u, m, others, lo, full, u_ptr, u_items, u_doubled, u_level, levels,
                        i_users, i_ratings, starts, slots, scratch, best_d, best_c, best_v, best_r,
                    )  # fmt: skip
                    saved += (full if k >= 0 else 0) - work
                if k < 0:
                    for p in range(u_ptr[u], u_ptr[u + 1]):
                        i = u_items[p]
                        if i == m:
                            continue
                        r = np.int64(u_doubled[p])
                        for e in range(starts[i * levels], starts[(i + 1) * levels]):
                            packed[slots[e]] += one + abs(r - np.int64(theirs[e]))
                    k = _scan_packed(u, m, packed, True, -1, i_ptr, i_users, i_doubled,
                                     i_ratings, best_d, best_c, best_v, best_r)  # fmt: skip
                    packed[:] = 0
                _write(t, k, best_d, best_v, best_r, ratings, distances, raters)


@numba.njit(cache=True, parallel=True)
def _closest_pooled(
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
        best_d, best_c, best_v, best_r = _best(n)
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
                    c, s = _leave_out(common[h], diff[h], own, cand_ratings[q])
                    k = _offer(
                        _distance(c, s), c, v, cand_ratings[q], k, best_d, best_c, best_v, best_r
                    )
                _write(t, k, best_d, best_v, best_r, ratings, distances, raters)
            for j in range(n_touched):
                common[touched[j]] = -1


@numba.njit(cache=True)
def _nearest(u, n, n_users, u_ptr, u_items, u_ratings, i_ptr, i_users, i_ratings):
    common = np.zeros(n_users, np.int64)
    diff = np.zeros(n_users, np.float64)
    touched = np.empty(n_users, np.int64)
    n_touched = _accumulate(
        u, u_ptr, u_items, u_ratings, i_ptr, i_users, i_ratings, common, diff, touched
    )
    best_d, best_c, best_v, best_r = _best(n)
    k = 0
    for j in range(n_touched):
        v = touched[j]
        if v != u:
            k = _offer(
                _distance(common[v], diff[v]), common[v], v, 0.0, k, best_d, best_c, best_v, best_r
            )
    return best_v[:k].astype(np.int32), best_d[:k].copy(), best_c[:k].astype(np.int32)
