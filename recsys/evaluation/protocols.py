"""Evaluation protocols: fit each model on a split's training ratings, score it on the test
ratings (accuracy overall, for warm and cold pairs, ranking at k), and time both steps."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable

import numpy as np

from recsys.data.dataset import Dataset
from recsys.data.schema import ITEM, RATING, TIMESTAMP, USER
from recsys.data.splits import Split, make_splits
from recsys.evaluation.metrics import coverage, mae, novelty, ranking_metrics, rmse
from recsys.features.closest import expecting
from recsys.models.base import Recommender
from recsys.models.registry import make_model

log = logging.getLogger(__name__)

ACTIVITY_BINS = (0, 20, 50, 100, 200, 500, np.inf)
RANKING_KS = (5, 10, 20)
REFERENCE = "popular"  # the reference row of every ranking table


def score_model(
    model: Recommender,
    split: Split,
    *,
    ks: tuple[int, ...] = RANKING_KS,
    relevant: float = 4.0,
    ranking: bool = True,
) -> dict:
    """Accuracy and ranking metrics of a fitted model on a split's test ratings."""
    test = split.test
    actual = test[RATING].to_numpy(np.float64)
    start = time.perf_counter()
    predicted = model.predict(test[USER], test[ITEM], test[TIMESTAMP]).rating
    result = {"predict_seconds": time.perf_counter() - start}
    cold = split.cold_mask()
    result |= {
        "rmse": rmse(predicted, actual),
        "mae": mae(predicted, actual),
        "rmse_warm": rmse(predicted[~cold], actual[~cold]) if (~cold).any() else None,
        "rmse_cold": rmse(predicted[cold], actual[cold]) if cold.any() else None,
        "n_test_warm": int((~cold).sum()),
        "n_test_cold": int(cold.sum()),
        "rmse_by_activity": error_by_activity(split, predicted),
    }
    if ranking:
        start = time.perf_counter()
        result |= rank_test_users(model, split, ks=ks, relevant=relevant)
        result["rank_seconds"] = time.perf_counter() - start
    return result


def error_by_activity(split: Split, predicted: np.ndarray) -> dict:
    """RMSE of test ratings binned by how many training ratings their user has."""
    counts = split.train[USER].value_counts()
    activity = split.test[USER].map(counts).fillna(0).to_numpy()
    errors = (predicted - split.test[RATING].to_numpy()) ** 2
    bins = np.digitize(activity, ACTIVITY_BINS[1:-1], right=True)
    labels = [
        f"{lo:.0f}-{hi:.0f}" if np.isfinite(hi) else f">{lo:.0f}"
        for lo, hi in itertools.pairwise(ACTIVITY_BINS)
    ]
    return {
        "bins": labels,
        "rmse": [float(np.sqrt(errors[bins == b].mean())) if (bins == b).any() else None
                 for b in range(len(labels))],
        "n": [int((bins == b).sum()) for b in range(len(labels))],
    }  # fmt: skip


def rank_test_users(
    model: Recommender, split: Split, *, ks: tuple[int, ...] = RANKING_KS, relevant: float = 4.0
) -> dict:
    """Top-k lists for every warm test user with a relevant test rating (>= ``relevant``),
    excluding what they rated in training (SPEC §5); precision, recall, NDCG and MAP at each k,
    with catalogue coverage and novelty of the lists."""
    liked = split.test[split.test[RATING] >= relevant]
    liked = liked[liked[USER].isin(split.train[USER])]
    groups = liked.groupby(USER, sort=True)[ITEM]
    deepest = max(ks)
    recommended, hits = [], []
    for user, items in groups:
        recommended.append(model.recommend(user, deepest)[0])
        hits.append(items.to_numpy())
    if not recommended:
        return {"n_users_ranked": 0}
    counts = split.train[ITEM].value_counts()
    result = {"n_users_ranked": len(recommended), "relevant_threshold": relevant}
    for k in ks:
        lists = [r[:k] for r in recommended]
        result |= ranking_metrics(lists, hits, k)
        result[f"coverage_at_{k}"] = coverage(lists, len(model.items_))
        result[f"novelty_at_{k}"] = novelty(lists, counts)
    result["coverage"] = result[f"coverage_at_{deepest}"]
    return result


def evaluate_split(
    dataset: Dataset,
    split: Split,
    models: Iterable[str],
    *,
    params: dict[str, dict] | None = None,
    ranking: bool = True,
    relevant: float = 4.0,
    on_model: Callable[[str], None] | None = None,
) -> dict:
    """Fit and score each named model on one split; ``on_model`` hears of each one done.
    With ranking, `popular` is always scored too: it is the reference row."""
    train = dataset.with_ratings(split.train)
    results = {}
    for name in with_reference(models, ranking):
        model = make_model(name, **(params or {}).get(name, {}))
        # A fit that finds the closest raters of every training rating finds the test
        # ratings' too, in the same sweeps; the predictions take them.
        with expecting(split.test[USER], split.test[ITEM]):
            start = time.perf_counter()
            model.fit(train)
            fit_seconds = time.perf_counter() - start
            scored = score_model(model, split, ranking=ranking, relevant=relevant)
        results[name] = {"fit_seconds": fit_seconds} | scored
        log.info("%s on %s: RMSE %.4f", name, split.name, results[name]["rmse"])
        if on_model:
            on_model(name)
    return {"split": split.describe(), "models": results}


def with_reference(models: Iterable[str], ranking: bool) -> list[str]:
    """The models to score: those named, and `popular` first when ranking is scored."""
    models = list(models)
    return [REFERENCE, *models] if ranking and REFERENCE not in models else models


def evaluate(
    dataset: Dataset,
    split: str,
    models: list[str],
    *,
    params: dict[str, dict] | None = None,
    ranking: bool = True,
    relevant: float = 4.0,
    on_model: Callable[[str], None] | None = None,
    **split_options,
) -> dict:
    """Evaluate models on a named split; k-fold gives each fold and the mean over folds."""
    splits = make_splits(dataset.ratings, split, **split_options)
    options = {"params": params, "ranking": ranking, "relevant": relevant, "on_model": on_model}
    runs = [evaluate_split(dataset, s, models, **options) for s in splits]
    models = with_reference(models, ranking)
    if len(runs) == 1:
        return runs[0]
    summary = {
        "name": split,
        "folds": len(runs),
        "n_train": float(np.mean([r["split"]["n_train"] for r in runs])),
        "n_test": float(np.mean([r["split"]["n_test"] for r in runs])),
        "n_ratings": len(dataset.ratings),
    }
    merged = {}
    for name in models:
        per_fold = [r["models"][name] for r in runs]
        means = {
            key: float(np.mean([f[key] for f in per_fold]))
            for key, value in per_fold[0].items()
            if isinstance(value, int | float) and all(f.get(key) is not None for f in per_fold)
        }
        merged[name] = means | {"folds": per_fold}
    return {"split": summary, "models": merged}
