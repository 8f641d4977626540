"""The cut every list is made by: the best k columns of each row, against a full sort."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recsys.models.base import top_n
from recsys.models.best import best_columns
from recsys.service.recommendations import top_n as service_top_n

# Few distinct values, so ties are everywhere, also at the cut; NaN counts as -inf.
VALUES = st.sampled_from([-np.inf, -1.0, 0.0, 0.5, 2.0, np.inf, np.nan])


def sorted_columns(row: np.ndarray) -> np.ndarray:
    """Every column, best first, ties to the smaller: a full sort, written from the rule."""
    key = np.where(np.isnan(row), -np.inf, row)
    return np.lexsort((np.arange(len(row)), -key))


@settings(max_examples=300, deadline=None)
@given(scores=arrays(np.float32, st.tuples(st.integers(1, 4), st.integers(1, 60)), elements=VALUES),
       k=st.integers(0, 70))  # fmt: skip
def test_the_best_columns_are_the_first_of_a_full_sort(scores, k):
    expected = np.stack([sorted_columns(row)[: min(k, scores.shape[1])] for row in scores])
    np.testing.assert_array_equal(best_columns(scores, k), expected)
    np.testing.assert_array_equal(best_columns(scores[0], k), expected[0])
    np.testing.assert_array_equal(best_columns(scores.astype(np.float64), k), expected)


@settings(max_examples=200, deadline=None)
@given(scores=arrays(np.float64, st.integers(1, 80), elements=VALUES), n=st.integers(1, 12))
def test_pages_follow_each_other_without_overlap_or_gap(scores, n):
    whole = sorted_columns(scores)
    pages = [top_n(scores, n, offset) for offset in range(0, len(scores) + n, n)]
    np.testing.assert_array_equal(np.concatenate(pages), whole)
    finite = int(np.isfinite(scores).sum())  # the service pages among the allowed ones
    served = [service_top_n(scores, n, offset, finite) for offset in range(0, finite + n, n)]
    np.testing.assert_array_equal(np.concatenate(served), whole[:finite])


def test_integer_scores_and_a_cut_beyond_the_row():
    counts = np.array([3, 9, 9, 1, 9])
    assert best_columns(counts, 2).tolist() == [1, 2]
    assert best_columns(counts, 9).tolist() == [1, 2, 4, 0, 3]
    assert best_columns(np.zeros((2, 0)), 3).shape == (2, 0)
