"""`gbm` with ``blend_sample``: the blend learns from a held-out sample of the training ratings
(described by base models fitted without them), not from every rating out of fold."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.data.interactions import Interactions
from recsys.data.splits import random_split
from recsys.data.synthetic import synthesize
from recsys.evaluation.protocols import score_model
from recsys.models.registry import make_model

SETTINGS = {"base_models": ("baseline", "mf"), "max_iter": 200}


def test_the_sample_is_one_held_out_fold_and_folds_stay_as_they_were():
    fold = make_model("gbm", folds=3).assignment(1_000)
    # the same draw as before the sample existed: seeded folds, unchanged results
    assert (fold == np.random.default_rng(0).integers(0, 3, 1_000)).all()
    fold = make_model("gbm", blend_sample=120).assignment(1_000)
    assert (fold == 0).sum() == 120 and (fold == -1).sum() == 880
    fold = make_model("gbm", blend_sample=5_000).assignment(1_000)  # more than there are
    assert fold.min() == 0 and fold.max() == 4


@pytest.fixture(scope="module")
def larger():
    """Enough ratings that a quarter of them is a fair sample for the blend."""
    data = synthesize(60_000, n_users=1_500, n_movies=400, seed=3)
    split = random_split(data.ratings, test_fraction=0.2, seed=1)
    train = data.with_ratings(split.train)
    return train, split, Interactions.from_ratings(train.ratings)


def test_a_sampled_blend_is_as_good_as_the_out_of_fold_one(larger):
    train, split, history = larger
    sampled = make_model("gbm", blend_sample=12_000, **SETTINGS).fit(train, history=history)
    folds = make_model("gbm", folds=2, **SETTINGS).fit(train, history=history)
    rmse = {name: score_model(m, split, ranking=False)["rmse"]
            for name, m in (("sampled", sampled), ("folds", folds),
                            *sampled.base_models_.items())}  # fmt: skip
    # the bases serve fitted on every rating (measured: sampled 0.787, folds 0.784, mf 0.795)
    assert len(sampled.base_models_["mf"].seen_items_) == len(history)
    assert rmse["sampled"] < 0.995 * rmse["mf"], rmse
    assert rmse["sampled"] < 1.01 * rmse["folds"], rmse
