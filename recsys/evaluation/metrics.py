"""Accuracy and ranking metrics. Each raises on missing or misaligned input rather than quietly
dropping it, and each is simple enough to check by hand."""

from __future__ import annotations

import numpy as np

from recsys.errors import RecsysError


class MetricError(RecsysError, ValueError):
    """A metric was given input it cannot score honestly (empty, NaN, misaligned)."""


def _errors(predicted, actual) -> np.ndarray:
    predicted = np.asarray(predicted, np.float64)
    actual = np.asarray(actual, np.float64)
    if predicted.shape != actual.shape:
        raise MetricError(f"{len(predicted)} predictions for {len(actual)} ratings")
    if len(actual) == 0:
        raise MetricError("no ratings to score")
    if np.isnan(predicted).any() or np.isnan(actual).any():
        raise MetricError("NaN among the predictions or ratings")
    return predicted - actual


def rmse(predicted, actual) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean(_errors(predicted, actual) ** 2)))


def mae(predicted, actual) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(_errors(predicted, actual))))


def ranking_metrics(recommended: list[np.ndarray], relevant: list[np.ndarray], k: int = 10) -> dict:
    """Mean precision, recall, NDCG and MAP at ``k`` over users.

    ``recommended[u]`` is a user's ranked list (best first, at most k used); ``relevant[u]`` the
    items that count as hits for that user (must be non-empty: users without relevant items
    are left out by the caller, who knows why).
    """
    if len(recommended) != len(relevant):
        raise MetricError(f"{len(recommended)} ranked lists for {len(relevant)} users")
    if not recommended:
        raise MetricError("no users to rank for")
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    precision, recall, ndcg, average_precision = [], [], [], []
    for ranked, hits in zip(recommended, relevant, strict=True):
        if len(hits) == 0:
            raise MetricError("a user with no relevant items")
        hit = np.isin(np.asarray(ranked)[:k], hits).astype(np.float64)
        n_hits = hit.sum()
        precision.append(n_hits / k)
        recall.append(n_hits / len(hits))
        ideal = discounts[: min(len(hits), k)].sum()
        ndcg.append((hit * discounts[: len(hit)]).sum() / ideal)
        precision_at_hit = np.cumsum(hit) / np.arange(1, len(hit) + 1)
        average_precision.append((precision_at_hit * hit).sum() / min(len(hits), k))
    return {
        f"precision_at_{k}": float(np.mean(precision)),
        f"recall_at_{k}": float(np.mean(recall)),
        f"ndcg_at_{k}": float(np.mean(ndcg)),
        f"map_at_{k}": float(np.mean(average_precision)),
    }


def coverage(recommended: list[np.ndarray], n_items: int) -> float:
    """Share of the catalogue that appears in at least one list."""
    if n_items <= 0:
        raise MetricError("an empty catalogue")
    shown = np.unique(np.concatenate(recommended)) if recommended else np.zeros(0)
    return float(len(shown) / n_items)


def novelty(recommended: list[np.ndarray], counts) -> float:
    """Mean popularity percentile of the movies shown (100: only the most-rated movie; lower
    is more novel). ``counts`` is a pandas Series of training ratings per raw movie id; a
    movie without training ratings sits at percentile 0."""
    if not recommended:
        raise MetricError("no lists to score")
    shown = np.concatenate([np.asarray(r) for r in recommended])
    if len(shown) == 0:
        raise MetricError("empty lists")
    values = np.sort(counts.to_numpy(np.float64))
    shown_counts = counts.reindex(shown).fillna(0.0).to_numpy(np.float64)
    below = np.searchsorted(values, shown_counts, side="right")
    return float(100.0 * below.mean() / len(values))
