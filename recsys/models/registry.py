"""Every model by name, for the CLI, evaluation and loading saved models."""

from __future__ import annotations

from recsys.errors import ConfigError
from recsys.models.als import ImplicitALS
from recsys.models.base import Recommender
from recsys.models.baselines import Baseline, GlobalMean
from recsys.models.closest import ClosestRaters
from recsys.models.ease import EASE
from recsys.models.gbm import GBMBlend, GBMSeed
from recsys.models.knn import ItemKNN
from recsys.models.mf import MatrixFactorization
from recsys.models.ranker import Ranker
from recsys.models.ranking import Cooccurrence, Popular

MODELS: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (
        GlobalMean, Baseline, MatrixFactorization, ItemKNN, ClosestRaters, GBMSeed, GBMBlend,
        Popular, EASE, ImplicitALS, Cooccurrence, Ranker,
    )
}


def make_model(name: str, **params) -> Recommender:
    """A fresh model by name, with hyperparameters as keywords."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    try:
        return MODELS[name](**params)
    except TypeError as error:
        raise ConfigError(f"{name}: {error}") from error
