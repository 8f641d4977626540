"""A small synthetic data set with real structure (latent factors, biases, skewed activity),
split so that some test pairs have users or movies the models never saw."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.data.dataset import Dataset
from recsys.data.splits import random_split
from recsys.data.synthetic import synthesize

# Small settings so the whole contract suite stays fast; defaults are exercised on real data.
FAST = {
    "mf": {"n_factors": 16, "epochs": 20},
    "gbm-seed": {"max_iter": 60},
    "gbm": {"folds": 2, "max_iter": 80},
    "als": {"n_factors": 16, "iterations": 5},
    "ranker": {"max_iter": 30, "depth": 30, "precompute": 20},
}


@pytest.fixture(scope="session")
def synthetic() -> Dataset:
    return synthesize(6_000, n_users=150, n_movies=120, seed=3)


@pytest.fixture(scope="session")
def split(synthetic):
    return random_split(synthetic.ratings, test_fraction=0.2, seed=1)


@pytest.fixture(scope="session")
def train(synthetic, split) -> Dataset:
    return synthetic.with_ratings(split.train)


def unseen_ids(ids: np.ndarray) -> np.ndarray:
    """Ids that are certainly not in ``ids``."""
    return np.arange(3) + int(ids.max()) + 1
