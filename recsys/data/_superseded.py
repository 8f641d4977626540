"""The compiled kernel behind `recsys.data.cleaning.superseded_pairs`, in a module of its own so
that importing the cleaning code (and `Dataset`) does not import numba."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _grouped(keys: np.ndarray) -> bool:
    """True when every key's rows form one contiguous run."""
    seen = np.zeros(keys.max() + 1, np.bool_)
    previous = -1
    for k in keys:
        if k != previous:
            if seen[k]:
                return False
            seen[k] = True
            previous = k
    return True


@numba.njit(cache=True)
def superseded(user: np.ndarray, item: np.ndarray, timestamp: np.ndarray) -> np.ndarray:
    """Rows whose (user, item) pair has a later row (by timestamp, then file order); ids are
    non-negative integer codes of one type."""
    n = len(user)
    out = np.zeros(n, np.bool_)
    if _grouped(item):
        group, other, order = item, user, np.arange(0)
    elif _grouped(user):
        group, other, order = user, item, np.arange(0)
    else:  # counting sort by item (stable: file order within an item)
        group, other = item, user
        starts = np.zeros(item.max() + 2, np.int64)
        for k in item:
            starts[k + 1] += 1
        starts = np.cumsum(starts)
        order = np.empty(n, np.int64)
        for r in range(n):
            order[starts[item[r]]] = r
            starts[item[r]] += 1
    stamp = np.full(other.max() + 1, -1, np.int64)
    winner = np.zeros(other.max() + 1, np.int64)
    run, previous = -1, -1
    for j in range(n):
        r = order[j] if len(order) else j
        if group[r] != previous:
            previous = group[r]
            run += 1
        o = other[r]
        if stamp[o] == run:
            w = winner[o]
            if timestamp[r] >= timestamp[w]:
                out[w] = True
                winner[o] = r
            else:
                out[r] = True
        else:
            stamp[o] = run
            winner[o] = r
    return out
