"""How the exact search walks a set of targets: grouped by user or by movie, in groups and
chunks of about equal work."""

from __future__ import annotations

import numba
import numpy as np

from recsys.features.closest.by_movie import uses_lanes
from recsys.features.closest.lanes import lanes_cost

PROGRESS_BATCHES = 16  # kernel calls for a big set of targets, each followed by a report
LANDING_SAMPLE = 64  # targets whose walk is measured to plan a grouping by movie
# A co-rater visit of a user's sweep costs about 1.5 of a movie's walk: its scratch spans every
# user, not the raters of one movie (`benchmarks/netflix_scale.py closest`, both groupings).
SWEEP_VISIT = 1.5
# A movie with more than 1 / (PIECES_PER_THREAD · threads) of the targets is cut into pieces so
# that every thread has work; each piece lists the movie's raters again. On 2 threads, cut at
# 1/128 the full set's movies were listed 2.9 times over (163 targets/s, 302 at 1/16); cut at
# 1/4 the sample's threads were unevenly loaded (p. one 183 k targets/s, 213 k at 1/16).
PIECES_PER_THREAD = 8
# Hot rows pay for their building (about 2.3 s for the 90 M ratings of the 100 M set's period
# one, one thread, when this was set; 2.1-2.8 s on two threads now, with the rows the near
# search walks and the dense rows) where the sweeps of a call visit more than this many
# co-raters a rating of the history: at 49 (every rating of 0.1 % of its users) the history's
# own listing was faster all told (6.4-7.2 s against 7.6-8.4 s, the kernel alone 5.2-5.7 s), at
# 245 (0.5 %) hot rows won. A call for a few users (a request, a fold-in) sweeps the history's
# listing.
HOT_ROWS_PAYBACK = 80
# A visit of the walk costs about this many ns (2.5 on the 100 M set, its movie's listing
# included): the unit of the estimates, to set the lanes' cost in ns against.
WALK_NS = 2.5


def plan(history, user, item, valid, max_candidates, group_by, levels, threads):
    """How to walk the targets: (order of the targets, bounds of its groups, each group's
    estimated work, whether groups are movies rather than users, whether users sweep
    `HotRows`: where their sweeps visit more than HOT_ROWS_PAYBACK co-raters a rating).

    Grouped by user, one sweep over u's co-raters (Σ_{i∈I_u} n_i) serves all of u's targets
    and each target scans R(m). Grouped by movie (exact, half-star data with ``levels``
    rating values; 0 for other data), a movie's targets are scored in lanes (`uses_lanes`,
    cost `lanes_cost`), or R(m) is listed by the other movies its raters rated (Σ_{v∈R(m)}
    |I_v| once a movie) and a target walks the part of u's sweep that lands on raters of m,
    measured on a few targets (`_landing`). Movies win when targets are many per movie and
    few per user (an evaluation's test ratings, every rating left out in turn); users win for
    a user's many movies. A movie with many targets is cut into pieces so that every thread
    has work."""
    csr_u, csr_i = history.by_user, history.by_item
    n_m = csr_i.counts[item].astype(np.float64)
    order, bounds = groups_of(user, valid, len(valid))
    heads = user[order[bounds[:-1]]]
    if max_candidates is not None:  # capped: about one walk of u's row per candidate
        scanned = np.add.reduceat(np.minimum(n_m[order], max_candidates), bounds[:-1])
        return order, bounds, scanned * (csr_u.counts[heads] + 1), False, False
    sweep = np.zeros(history.n_users)  # Σ_{i∈I_u} n_i, for the target users only
    sweep[heads] = row_sums(csr_u.indptr, csr_u.indices, csr_i.counts, heads)
    by_user = SWEEP_VISIT * sweep[heads] + np.add.reduceat(n_m[order], bounds[:-1])
    hot = sweep.sum() > HOT_ROWS_PAYBACK * len(history)
    if not levels or group_by == "user":
        return order, bounds, by_user, False, hot
    movies = np.unique(item[valid])
    listed = np.zeros(history.n_items)  # Σ_{v∈R(m)} |I_v|, for the target movies only
    listed[movies] = row_sums(csr_i.indptr, csr_i.indices, csr_u.counts, movies)
    piece = max(1, len(valid) // (threads * PIECES_PER_THREAD))
    m_order, m_bounds = groups_of(item, valid, piece)
    movie = item[m_order[m_bounds[:-1]]]  # each group's
    lanes, lane_cost = _lanes_of(csr_i.counts[movie], history.n_items, levels, listed[movie],
                                 np.diff(m_bounds))  # fmt: skip
    scans = np.add.reduceat(n_m[m_order], m_bounds[:-1])
    floor = np.where(lanes, lane_cost, listed[movie] + scans)  # the walks still to come
    if group_by is None and floor.sum() >= by_user.sum():
        return order, bounds, by_user, False, hot  # by movie costs more before any walk
    by_movie = floor
    if not lanes.all():
        walk = np.minimum(_landing(history, user, item, valid, sweep) * sweep[user], listed[item])
        by_movie = floor + np.where(lanes, 0, np.add.reduceat(walk[m_order], m_bounds[:-1]))
    if group_by == "movie" or by_movie.sum() < by_user.sum():
        return m_order, m_bounds, by_movie, True, False
    return order, bounds, by_user, False, hot


@numba.njit(cache=True)
def _lanes_of(n_slots, n_items, levels, entries, sizes):
    """For each group of a movie's targets: whether it is scored in lanes, and their cost in
    walk visits (WALK_NS each)."""
    lanes = np.zeros(len(sizes), np.bool_)
    cost = np.zeros(len(sizes))
    for g in range(len(sizes)):
        lanes[g] = uses_lanes(n_slots[g], n_items, levels, entries[g], sizes[g])
        cost[g] = lanes_cost(entries[g], n_slots[g], sizes[g]) / WALK_NS
    return lanes, cost


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
def row_sums(indptr, indices, weights, rows):
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


def groups_of(key: np.ndarray, valid: np.ndarray, piece: int) -> tuple[np.ndarray, np.ndarray]:
    """The valid targets ordered by key (stably) and the bounds of their groups: runs of one
    key, cut every ``piece`` targets."""
    order = valid[np.argsort(key[valid], kind="stable")]
    keys = key[order]
    position = np.arange(len(order))
    new = np.r_[True, keys[1:] != keys[:-1]]
    run_start = np.maximum.accumulate(np.where(new, position, 0))
    starts = np.flatnonzero(new | ((position - run_start) % piece == 0))
    return order, np.r_[starts, len(order)].astype(np.int64)


def chunks_of(cost: np.ndarray, threads: int) -> np.ndarray:
    """Boundaries splitting consecutive groups into chunks of about equal work (a few per
    thread, so one heavy user does not leave the other threads idle)."""
    n_chunks = min(len(cost), 4 * max(threads, 1))
    total = np.cumsum(cost, dtype=np.float64)
    cuts = np.searchsorted(total, total[-1] * np.arange(1, n_chunks) / n_chunks, side="right")
    return np.unique(np.r_[0, cuts, len(cost)]).astype(np.int64)
