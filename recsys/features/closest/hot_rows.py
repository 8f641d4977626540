"""The raters of each movie as the user-grouped sweep reads them: users relabelled by how many
ratings they have (the most active first), each movie's raters listed by rating, then by
label. A sweep then adds one constant a run (no rating to read, no difference to take) and
its writes land densest where most of them go; on the 100 M set's period one it took 1.7 s
where the history's own listing took 3.1 s (0.1 % of the users, 2 threads). Where a movie's
raters are dense among the first labels, that prefix is also kept as a *dense row*, a byte a
label, which a sweep adds in vector passes (`by_user`) instead of a scattered addition a
rater. Each user's own row is kept in label order too, with movies in 16 bits where they fit:
the near search (`near`) walks the rows of u's nearest co-raters in label order, one
stream."""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from recsys.features.closest.by_movie import level_table

# A label of a dense row costs a sweep about this share of a scattered addition: each movie's
# dense prefix ends where the raters left beyond it would cost less as additions. On the 100 M
# set's period one (150 users, one thread) the sweeps took 0.94-0.98 s at 0.2 (100 MiB of rows,
# 4,204 movies), 0.97-1.28 at 0.1 (197 MiB), 1.00-1.04 at 0.3 and 1.50-1.54 with no dense rows.
DENSE_SHARE = 0.2
DENSE_STEP = 4096  # labels: a dense prefix ends at a multiple of this (or at the last label)


@dataclass(frozen=True)
class HotRows:
    """Movie i's raters at rating level l are users[runs[i·L + l] : runs[i·L + l + 1]] (labels,
    ascending), with twice their rating in ``doubled``; ``values[l]`` is twice level l's
    rating. A label's user index is ``user_of[label]``, a user's label ``label_of[user]``. The
    movies the user labelled l rated are items[rows[l] : rows[l + 1]], twice their ratings in
    ``own_doubled``. Movie i's raters labelled below its prefix's end are also in its dense
    row, dense[dense_at[i] : dense_at[i + 1]], and users[tails[i·L + l] : runs[i·L + l + 1]]
    are the rest of each run."""

    runs: np.ndarray  # int64, n_items · L + 1
    users: np.ndarray  # int32 labels
    doubled: np.ndarray  # int8
    values: np.ndarray  # int64, L
    user_of: np.ndarray  # int32
    label_of: np.ndarray  # int32
    rows: np.ndarray  # int64, n_users + 1
    items: np.ndarray  # uint16 where every movie index fits, else int32
    own_doubled: np.ndarray  # int8
    tails: np.ndarray  # int64, n_items · L: where each run's labels beyond its movie's prefix start
    dense: np.ndarray  # uint8: twice the rating + 1 of each label of the prefixes, 0 where none
    dense_at: np.ndarray  # int64, n_items + 1: where each movie's dense row starts


def hot_rows(u_ptr, u_items, u_doubled, n_items, values) -> HotRows:
    """`HotRows` of a history given by user (CSR rows, twice each rating as int8) whose doubled
    ratings take the ``values`` (`rating_values`)."""
    counts = np.diff(u_ptr)
    user_of = np.argsort(-counts, kind="stable").astype(np.int32)
    label_of = np.empty_like(user_of)
    label_of[user_of] = np.arange(len(user_of), dtype=np.int32)
    rows = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts[user_of], out=rows[1:])
    items = np.empty(len(u_items), np.uint16 if n_items <= 1 << 16 else np.int32)
    own_doubled = np.empty(len(u_items), np.int8)
    pieces = numba.get_num_threads()  # a piece of about equal entries a thread
    cuts = np.searchsorted(rows, np.arange(pieces + 1) * len(u_items) / pieces)
    cuts[0], cuts[-1] = 0, len(user_of)
    levels = level_table(values)
    runs, users, doubled = _listing(u_ptr, u_items, u_doubled, n_items, levels, len(values),
                                    user_of, rows, items, own_doubled, cuts)  # fmt: skip
    ends = _dense_ends(runs, users, len(values), len(user_of), DENSE_SHARE, DENSE_STEP)
    dense_at = np.zeros(n_items + 1, np.int64)
    np.cumsum(ends, out=dense_at[1:])
    tails, dense = _dense_rows(runs, users, doubled, len(values), dense_at)
    return HotRows(runs, users, doubled, values, user_of, label_of, rows, items, own_doubled,
                   tails, dense, dense_at)  # fmt: skip


@numba.njit(cache=True, parallel=True)
def _listing(u_ptr, u_items, u_doubled, n_items, level_of, n_levels, user_of, rows, items, own,
             cuts):  # fmt: skip
    """Every user's ratings placed in label order, in the runs and in ``items`` and ``own``
    (their ``rows``): the labels cut into pieces (at ``cuts``), each counting its entries of
    every run, then placing them after those of the pieces before it."""
    n_runs = n_items * n_levels
    pieces = len(cuts) - 1
    fill = np.zeros((pieces, n_runs + 1), np.int64)
    for piece in numba.prange(pieces):
        for label in range(cuts[piece], cuts[piece + 1]):
            u = user_of[label]
            for p in range(u_ptr[u], u_ptr[u + 1]):
                fill[piece, u_items[p] * n_levels + level_of[u_doubled[p]]] += 1
    runs = np.zeros(n_runs + 1, np.int64)
    total = 0
    for b in range(n_runs):  # fill[piece, b]: where the piece's first entry of run b goes
        runs[b] = total
        for piece in range(pieces):
            count = fill[piece, b]
            fill[piece, b] = total
            total += count
    runs[n_runs] = total
    users = np.empty(len(u_items), np.int32)
    doubled = np.empty(len(u_items), np.int8)
    for piece in numba.prange(pieces):
        for label in range(cuts[piece], cuts[piece + 1]):
            u = user_of[label]
            at = rows[label]
            for p in range(u_ptr[u], u_ptr[u + 1]):
                items[at] = u_items[p]
                own[at] = u_doubled[p]
                at += 1
                b = u_items[p] * n_levels + level_of[u_doubled[p]]
                users[fill[piece, b]] = label
                doubled[fill[piece, b]] = u_doubled[p]
                fill[piece, b] += 1
    return runs, users, doubled


@numba.njit(cache=True, parallel=True)
def _dense_ends(runs, users, n_levels, n_labels, share, step):
    """Where each movie's dense prefix ends: the multiple of ``step`` (or n_labels) that saves
    the most, counting a rater below it as 1 and a label as ``share``; 0 where none saves."""
    n_items = (len(runs) - 1) // n_levels
    steps = -(-n_labels // step)
    ends = np.zeros(n_items, np.int64)
    for i in numba.prange(n_items):
        raters = np.zeros(steps, np.int64)
        for q in range(runs[i * n_levels], runs[(i + 1) * n_levels]):
            raters[users[q] // step] += 1
        below, most = 0, 0.0
        for k in range(steps):
            below += raters[k]
            end = min((k + 1) * step, n_labels)
            if below - share * end > most:
                most, ends[i] = below - share * end, end
    return ends


@numba.njit(cache=True, parallel=True)
def _dense_rows(runs, users, doubled, n_levels, dense_at):
    """Each movie's dense row (twice the rating + 1 at each label of its prefix, 0 where the
    label did not rate it), and where each run's labels beyond the prefix start."""
    dense = np.zeros(dense_at[-1], np.uint8)
    tails = np.empty(len(runs) - 1, np.int64)
    for i in numba.prange(len(dense_at) - 1):
        at, end = dense_at[i], dense_at[i + 1] - dense_at[i]
        for b in range(i * n_levels, (i + 1) * n_levels):
            q = runs[b]
            while q < runs[b + 1] and users[q] < end:
                dense[at + users[q]] = np.uint8(doubled[q] + 1)
                q += 1
            tails[b] = q
    return tails, dense
