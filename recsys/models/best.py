"""The best k columns of each row of scores, in one pass: what every served list is cut from.

Best first, ties to the smaller column, at the cut as well: so the best k are always the first
k of the best k + 1, and pages of a list never overlap or skip a movie. NaN counts as -inf.
(The ranker's candidate sets keep the cut it was tuned with: `recsys.models.ranker._best`.)
"""

from __future__ import annotations

import numba
import numpy as np


def best_columns(scores: np.ndarray, k: int) -> np.ndarray:
    """Columns (int64) of the ``k`` best scores of each row (the last axis), best first."""
    scores = np.asarray(scores)
    rows = scores.reshape(int(np.prod(scores.shape[:-1])), scores.shape[-1])
    k = max(0, min(int(k), rows.shape[1]))
    out = np.empty((rows.shape[0], k), np.int64)
    if k:  # as float64 whatever they are: one compiled kernel, which the warm-up loads
        _best_columns(np.ascontiguousarray(rows, np.float64), k, out)
    return out.reshape(*scores.shape[:-1], k)


@numba.njit(cache=True)
def _best_columns(scores, k, out):
    """A heap of the k best seen so far, its worst at the root; a column enters when its
    score beats the root's (scanned in column order, so an equal score never does)."""
    values = np.empty(k, np.float64)
    columns = np.empty(k, np.int64)
    for r in range(scores.shape[0]):
        size = 0
        for c in range(scores.shape[1]):
            v = scores[r, c]
            if v != v:
                v = -np.inf
            if size < k:  # sift up: the worse of two goes nearer the root
                j = size
                size += 1
                while j > 0:
                    parent = (j - 1) // 2
                    if not _worse(v, c, values[parent], columns[parent]):
                        break
                    values[j], columns[j] = values[parent], columns[parent]
                    j = parent
                values[j], columns[j] = v, c
            elif v > values[0]:
                _sift_down(values, columns, size, v, c)
        # take the worst out, k times: the list fills from its end, best first
        for last in range(size - 1, -1, -1):
            out[r, last] = columns[0]
            if last:
                _sift_down(values, columns, last, values[last], columns[last])


@numba.njit(cache=True, inline="always")
def _worse(v1, c1, v2, c2):
    return v1 < v2 or (v1 == v2 and c1 > c2)


@numba.njit(cache=True)
def _sift_down(values, columns, size, v, c):
    """Put (v, c) at the root of the heap of ``size`` entries and move it down to its place."""
    j = 0
    while True:
        child = 2 * j + 1
        if child >= size:
            break
        if child + 1 < size and _worse(values[child + 1], columns[child + 1], values[child],
                                       columns[child]):  # fmt: skip
            child += 1
        if not _worse(values[child], columns[child], v, c):
            break
        values[j], columns[j] = values[child], columns[child]
        j = child
    values[j], columns[j] = v, c
