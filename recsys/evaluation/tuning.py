"""Hyperparameter search with Optuna (`recsys tune`), on a validation split cut from the
training part only: the test part of the split is never looked at.

The validation split mirrors the split asked for: a user-last split holds out each user's last
ratings of the training part, a temporal one its latest ratings, any other a random 10 %. The
best hyperparameters are written as JSON that `recsys train` and `recsys evaluate` read back
(``--params FILE``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from recsys.data.dataset import Dataset
from recsys.data.splits import (
    Split,
    make_splits,
    random_split,
    temporal_split,
    user_last_split,
)
from recsys.errors import ConfigError
from recsys.evaluation.metrics import rmse
from recsys.evaluation.protocols import rank_test_users
from recsys.models.ranker import Ranker
from recsys.models.ranking import ItemScorer
from recsys.models.registry import MODELS, make_model

log = logging.getLogger(__name__)

METRICS = {"ndcg@10": "maximize", "rmse": "minimize"}
# Models that choose lists: their `predict` (hence RMSE) is a fixed baseline or another model's,
# whatever their own parameters.
RANKING_ONLY = {name for name, cls in MODELS.items() if issubclass(cls, ItemScorer | Ranker)}
PARAMS_FORMAT = "recsys-params"


def _log(trial, name: str, low: float, high: float) -> float:
    return trial.suggest_float(name, low, high, log=True)


# The search space of each model, as Optuna suggestions.
SPACES: dict[str, Callable] = {
    "baseline": lambda t: {"user_damping": _log(t, "user_damping", 0.5, 50),
                           "item_damping": _log(t, "item_damping", 0.5, 50)},
    "mf": lambda t: {"n_factors": t.suggest_categorical("n_factors", [16, 32, 64, 128]),
                     "learning_rate": _log(t, "learning_rate", 0.002, 0.05),
                     "regularization": _log(t, "regularization", 0.005, 0.3),
                     "epochs": t.suggest_int("epochs", 10, 80)},
    "item-knn": lambda t: {"k": t.suggest_int("k", 10, 200, log=True)},
    "popular": lambda t: {"half_life_days": _log(t, "half_life_days", 30, 20_000)},
    "ease": lambda t: {"l2": _log(t, "l2", 10, 5000)},
    "als": lambda t: {"n_factors": t.suggest_categorical("n_factors", [32, 64, 128]),
                      "alpha": _log(t, "alpha", 0.5, 50),
                      "regularization": _log(t, "regularization", 0.1, 100),
                      "iterations": t.suggest_int("iterations", 5, 25)},
    "item-cooc": lambda t: {"k": t.suggest_int("k", 10, 400, log=True)},
    "gbm-seed": lambda t: {"learning_rate": _log(t, "learning_rate", 0.01, 0.3),
                           "max_leaf_nodes": t.suggest_int("max_leaf_nodes", 7, 63)},
    "gbm": lambda t: {"learning_rate": _log(t, "learning_rate", 0.01, 0.3),
                      "max_leaf_nodes": t.suggest_int("max_leaf_nodes", 7, 63),
                      "min_samples_leaf": t.suggest_int("min_samples_leaf", 10, 200, log=True),
                      "l2_regularization": _log(t, "l2_regularization", 0.01, 10)},
    "ranker": lambda t: {"depth": t.suggest_categorical("depth", [50, 100, 200]),
                         "learning_rate": _log(t, "learning_rate", 0.02, 0.2),
                         "max_leaf_nodes": t.suggest_int("max_leaf_nodes", 7, 63),
                         "min_samples_leaf": t.suggest_int("min_samples_leaf", 10, 300, log=True),
                         "l2_regularization": _log(t, "l2_regularization", 0.01, 10),
                         "label_fraction": t.suggest_float("label_fraction", 0.05, 0.3)},
}  # fmt: skip


def validation_split(train, split: str, *, seed: int = 0, last_k: int = 9) -> Split:
    """A split of a training part alone, of the same kind as ``split``."""
    if split == "user-last":
        return user_last_split(train, k=last_k)
    if split == "temporal":
        return temporal_split(train, test_fraction=0.1)
    return random_split(train, test_fraction=0.1, seed=seed)


def check_tunable(model: str, metric: str) -> None:
    if model not in MODELS:
        raise ConfigError(f"unknown model {model!r}; choose from {', '.join(MODELS)}")
    if model not in SPACES:
        raise ConfigError(f"{model} has no hyperparameters to tune; tunable: {', '.join(SPACES)}")
    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    if metric == "rmse" and model in RANKING_ONLY:
        raise ConfigError(f"{model}'s predicted ratings do not depend on the parameters tuned "
                          f"({', '.join(_space_names(model))}), so rmse cannot tell them "
                          "apart; tune it with --metric ndcg@10")  # fmt: skip


def _space_names(model: str) -> list[str]:
    """The parameters `SPACES` searches for ``model``, in order."""

    class Names:  # a stand-in trial that only notes what is suggested
        def __init__(self) -> None:
            self.seen: list[str] = []

        def _note(self, name: str, *args, **kwargs) -> None:
            self.seen.append(name)

        suggest_float = suggest_int = suggest_categorical = _note

    trial = Names()
    SPACES[model](trial)
    return trial.seen


def tune(
    dataset: Dataset,
    model: str,
    split: str,
    *,
    metric: str = "ndcg@10",
    trials: int = 20,
    seed: int = 0,
    on_trial: Callable[[dict], None] | None = None,
    **split_options,
) -> dict:
    """Search ``model``'s hyperparameters; returns the best and every trial."""
    import optuna

    check_tunable(model, metric)
    outer = make_splits(dataset.ratings, split, seed=seed, **split_options)[0]
    inner = validation_split(outer.train, split, seed=seed,
                             last_k=split_options.get("last_k", 9))  # fmt: skip
    train = dataset.with_ratings(inner.train)
    trials_seen: list[dict] = []

    def objective(trial) -> float:
        params = SPACES[model](trial)
        fitted = make_model(model, **params).fit(train)
        if metric == "rmse":
            test = inner.test
            predicted = fitted.predict(test["user_id"], test["item_id"], test["timestamp"])
            value = rmse(predicted.rating, test["rating"].to_numpy())
        else:
            value = rank_test_users(fitted, inner, ks=(10,))["ndcg_at_10"]
        record = {"number": trial.number, "value": float(value), "params": params}
        trials_seen.append(record)
        if on_trial:
            on_trial(record)
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(direction=METRICS[metric], sampler=sampler)
    study.optimize(objective, n_trials=trials)
    best = trials_seen[study.best_trial.number]
    return {
        "format": PARAMS_FORMAT,
        "model": model,
        "params": best["params"],
        "metric": metric,
        "value": best["value"],
        "validation": {"split": split, "n_train": len(inner.train), "n_test": len(inner.test)},
        "trials": trials_seen,
    }


def write_params(result: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


def read_params(path: str | Path) -> dict[str, dict]:
    """Hyperparameters per model from a file `recsys tune` wrote (or ``{model: params}``)."""
    path = Path(path)
    try:
        content = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"--params {path}: unreadable ({error})") from None
    if isinstance(content, dict) and content.get("format") == PARAMS_FORMAT:
        content = {content["model"]: content["params"]}
    if not isinstance(content, dict) or not all(isinstance(v, dict) for v in content.values()):
        raise ConfigError(f"--params {path}: expected `recsys tune` output or {{model: params}}")
    unknown = [m for m in content if m not in MODELS]
    if unknown:
        raise ConfigError(f"--params {path}: unknown models {', '.join(unknown)}")
    return content


def plot_search(result: dict, path: str | Path) -> Path:
    """Each trial's value and the best so far, by trial number (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = np.array([t["value"] for t in result["trials"]])
    better = np.maximum if METRICS[result["metric"]] == "maximize" else np.minimum
    best = better.accumulate(values)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(values, "o", color="#4C72B0", label="trial")
    ax.plot(best, "-", color="#C44E52", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(result["metric"])
    ax.set_title(f"recsys tune {result['model']} ({result['validation']['split']} validation)")
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
