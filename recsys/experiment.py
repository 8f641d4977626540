"""The Python API for notebooks: load data, split it, make models, evaluate and cross-validate.

    import recsys
    data = recsys.load("demo")                          # or a MovieLens / Netflix folder
    scores = recsys.evaluate(data, ["baseline", recsys.make("mf", n_factors=32)])
    folds = recsys.cross_validate(data, ["baseline", "mf"], folds=5)

`evaluate` and `cross_validate` return pandas DataFrames, one row per model (and fold), with
RMSE, MAE, warm/cold RMSE, fit and predict seconds and, with ``ranking=True``, the ranking
metrics. They run `recsys.evaluation.protocols`, the same code as `recsys evaluate`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from recsys.choices import checked_params
from recsys.data.loading import load_or_demo
from recsys.data.schema import HALF_STARS, RatingScale
from recsys.data.splits import (
    Split,
    kfold_splits,
    make_splits,
    random_split,
    seed1_split,
    temporal_split,
    user_last_split,
)
from recsys.errors import ConfigError

if TYPE_CHECKING:
    from recsys.data.dataset import Dataset
    from recsys.models.base import Recommender

__all__ = [
    "Split",
    "check_models",
    "cross_validate",
    "evaluate",
    "kfold_splits",
    "load",
    "make",
    "make_splits",
    "paired_test",
    "random_split",
    "repeat",
    "seed1_split",
    "split_from_files",
    "summarize",
    "temporal_split",
    "user_last_split",
]

ModelSpec = "str | Recommender"


def load(path: str | Path = "demo", **options) -> Dataset:
    """A data set in canonical form: a MovieLens or Netflix Prize folder or archive, a generic
    table, or "demo" (the synthetic set the service serves). Options as `recsys.data.loading.load`
    (``format``, ``strict``, ``columns``, ``cache``)."""
    return load_or_demo(path, **options)


def make(name: str, **params) -> Recommender:
    """A fresh, unfitted model by name (``recsys.make("mf", n_factors=32)``)."""
    from recsys.models.registry import make_model

    return make_model(name, **params)


def check_models(names: Iterable[str], params: Mapping[str, object] | None = None) -> list[str]:
    """The model names, checked: each known and none empty, and every parameter in ``params``
    taken by every model, of the right type and in range. Raises `ConfigError` naming the
    first problem."""
    from recsys.models.registry import MODELS

    names = list(names)
    params = checked_params(names, dict(params or {}))
    for name in names:
        MODELS[name](**params).check_params()
    return names


def split_from_files(
    train: str | Path,
    test: str | Path,
    data: Dataset | None = None,
    scale: RatingScale | None = None,
) -> tuple[Dataset, Split]:
    """A split from two rating tables (what `recsys split` writes), and the data set to evaluate
    it in: ``data``'s catalogue, or without it the training file's own. The files are read on
    ``scale``, by default ``data``'s (without data, half stars from 0.5 to 5)."""
    from recsys.data.generic import Columns
    from recsys.data.loading import load

    scale = scale or (data.scale if data is not None else HALF_STARS)
    first, second = (load(p, format="generic", cache=False, columns=Columns(scale=scale))
                     for p in (train, test))  # fmt: skip
    split = Split("files", first.ratings, second.ratings, {"train": str(train), "test": str(test)})
    return (data or first).with_ratings(first.ratings), split


def _defaults(model: Recommender) -> dict:
    parameters = inspect.signature(type(model)).parameters.values()
    return {p.name: p.default for p in parameters}


def _label(model: ModelSpec) -> str:
    """A model's name, with the hyperparameters it sets away from their defaults."""
    if isinstance(model, str):
        return model
    defaults = _defaults(model)
    changed = {k: v for k, v in model.get_params().items() if v != defaults.get(k)}
    inner = ", ".join(f"{k}={v!r}" for k, v in changed.items())
    return f"{model.name}({inner})" if inner else model.name


def _name_and_params(model: ModelSpec) -> tuple[str, dict]:
    if isinstance(model, str):
        return model, {}
    return model.name, model.get_params()


def _models(models: ModelSpec | Iterable[ModelSpec]) -> dict[str, ModelSpec]:
    if isinstance(models, str) or hasattr(models, "get_params"):
        models = [models]
    models = list(models)
    labelled = {_label(m): m for m in models}
    if len(labelled) < len(models):
        raise ConfigError("a model is given twice (the same name and hyperparameters); give "
                          "each once")  # fmt: skip
    check_models([n for n, _ in map(_name_and_params, labelled.values())])
    return labelled


SCALARS = (int, float, np.integer, np.floating)


def _row(result: dict) -> dict:
    """The scalar metrics of one model's result (lists and nested tables left out)."""
    return {k: v for k, v in result.items() if isinstance(v, SCALARS) or v is None}


def _run(data: Dataset, split: str | Split, models: dict[str, ModelSpec], ranking: bool,
         **split_options) -> dict[str, dict]:  # fmt: skip
    """Each model's protocol result (k-fold: with its ``folds``), keyed by label."""
    from recsys.evaluation.protocols import evaluate as run_protocol
    from recsys.evaluation.protocols import evaluate_split

    results = {}
    for label, model in models.items():
        name, params = _name_and_params(model)
        if isinstance(split, Split):
            found = evaluate_split(data, split, [name], params={name: params}, ranking=ranking)
        else:
            found = run_protocol(data, split, [name], params={name: params}, ranking=ranking,
                                 **split_options)  # fmt: skip
        results[label] = found["models"][name]
    return results


def evaluate(
    data: Dataset,
    models: ModelSpec | Iterable[ModelSpec],
    split: str | Split = "seed1",
    *,
    ranking: bool = False,
    **split_options,
) -> pd.DataFrame:
    """Fit each model on the training part of ``split`` and score it on the test part.

    ``models``: names or unfitted models from `make` (a model keeps its hyperparameters).
    ``split``: a name (``seed1``, ``temporal``, ``random``, ``user-last``, ``kfold``) with its
    options (``test_fraction``, ``seed``, ``cutoff``, ``last_k``, ``folds``), or a `Split`.
    One row per model, indexed by model; k-fold gives the mean over folds.
    """
    results = _run(data, split, _models(models), ranking, **split_options)
    frame = pd.DataFrame.from_dict({k: _row(v) for k, v in results.items()}, orient="index")
    frame.index.name = "model"
    return frame


def cross_validate(
    data: Dataset,
    models: ModelSpec | Iterable[ModelSpec],
    *,
    folds: int = 5,
    seed: int = 0,
    ranking: bool = False,
) -> pd.DataFrame:
    """k-fold cross-validation: one row per (model, fold); ``.groupby("model").mean()`` gives
    the means (as `evaluate` with ``split="kfold"``)."""
    results = _run(data, "kfold", _models(models), ranking, folds=folds, seed=seed)
    rows = [
        {"model": label, "fold": fold, **_row(scores)}
        for label, result in results.items()
        for fold, scores in enumerate(result["folds"])
    ]
    return pd.DataFrame(rows).set_index(["model", "fold"])


def repeat(
    data: Dataset,
    models: ModelSpec | Iterable[ModelSpec],
    split: str = "random",
    *,
    times: int = 5,
    seed: int = 0,
    ranking: bool = False,
    **split_options,
) -> pd.DataFrame:
    """`evaluate` ``times`` times with seeds ``seed``, ``seed + 1``, …: the split's seed and every
    model's ``random_state`` (unless set). One row per (model, run)."""
    if not isinstance(times, int | np.integer) or isinstance(times, bool) or times < 1:
        raise ConfigError(f"times must be an integer >= 1, got {times!r}")
    labelled = _models(models)
    rows = []
    for run in range(times):
        seeded = {label: _reseeded(model, seed + run) for label, model in labelled.items()}
        results = _run(data, split, seeded, ranking, seed=seed + run, **split_options)
        rows += [{"model": k, "run": run, **_row(v)} for k, v in results.items()]
    return pd.DataFrame(rows).set_index(["model", "run"])


def _reseeded(model: ModelSpec, seed: int) -> Recommender:
    """The model with ``random_state=seed``, unless it takes none or set its own."""
    fresh = make(model) if isinstance(model, str) else model
    params = fresh.get_params()
    if "random_state" in params and params["random_state"] == _defaults(fresh)["random_state"]:
        return make(fresh.name, **{**params, "random_state": seed})
    return fresh


def summarize(runs: pd.DataFrame, metrics: Iterable[str] = ("rmse", "mae")) -> pd.DataFrame:
    """Mean and standard deviation (ddof 1) per model of per-run (or per-fold) results."""
    metrics = [m for m in metrics if m in runs.columns]
    grouped = runs[metrics].groupby(level="model", sort=False)
    return grouped.agg(["mean", "std"])


def paired_test(runs: pd.DataFrame, metric: str = "rmse") -> pd.DataFrame:
    """Paired t-tests between every two models over the same runs or folds (the second index
    level pairs them): the mean difference (first minus second), t and the two-sided p-value
    (NaN when the differences do not vary)."""
    from scipy.stats import ttest_rel

    if metric not in runs.columns:
        raise ConfigError(f"metric {metric!r} is not a column of these runs; they have "
                          f"{', '.join(map(str, runs.columns))}")  # fmt: skip
    table = runs[metric].unstack(level=0)
    models = list(runs.index.get_level_values("model").unique())
    rows = []
    for i, first in enumerate(models):
        for second in models[i + 1 :]:
            a, b = table[first].to_numpy(), table[second].to_numpy()
            difference = a - b
            if len(a) < 2 or np.allclose(difference, difference[0]):
                t, p = np.nan, np.nan
            else:
                t, p = ttest_rel(a, b)
            rows.append({
                "first": first, "second": second, f"mean_{metric}_difference":
                float(difference.mean()), "t": float(t), "p": float(p), "runs": len(a),
            })  # fmt: skip
    return pd.DataFrame(rows)
