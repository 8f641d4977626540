"""Metrics checked against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recsys.evaluation.metrics import MetricError, coverage, mae, ranking_metrics, rmse


def test_rmse_and_mae_by_hand():
    assert rmse([3.0, 4.0, 5.0], [4.0, 4.0, 3.0]) == pytest.approx(math.sqrt(5 / 3))
    assert mae([3.0, 4.0, 5.0], [4.0, 4.0, 3.0]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("predicted", "actual", "message"),
    [([], [], "no ratings"), ([1.0], [1.0, 2.0], "1 predictions for 2"),
     ([np.nan], [1.0], "NaN")],
)  # fmt: skip
def test_metrics_refuse_what_they_cannot_score(predicted, actual, message):
    with pytest.raises(MetricError, match=message):
        rmse(predicted, actual)


def test_ranking_metrics_by_hand():
    # User A: hits at ranks 1 and 3 of 3 relevant; user B: no hit.
    recommended = [np.array([10, 11, 12, 13]), np.array([20, 21, 22, 23])]
    relevant = [np.array([10, 12, 99]), np.array([98])]
    got = ranking_metrics(recommended, relevant, k=4)
    d = 1 / np.log2(np.arange(2, 6))
    assert got["precision_at_4"] == pytest.approx((2 / 4 + 0) / 2)
    assert got["recall_at_4"] == pytest.approx((2 / 3 + 0) / 2)
    assert got["ndcg_at_4"] == pytest.approx(((d[0] + d[2]) / d[:3].sum() + 0) / 2)
    assert got["map_at_4"] == pytest.approx(((1 + 2 / 3) / 3 + 0) / 2)


def test_ranking_metrics_need_relevant_items_for_every_user():
    with pytest.raises(MetricError, match="no relevant"):
        ranking_metrics([np.array([1])], [np.array([], int)], k=10)


def test_coverage_counts_distinct_items_shown():
    assert coverage([np.array([1, 2]), np.array([2, 3])], n_items=10) == pytest.approx(0.3)
