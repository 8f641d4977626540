"""The notebook API (`recsys.load`, `make`, `evaluate`, `cross_validate`, `repeat`, the
splits): results equal the protocol's, figures computed by hand, names checked up front,
and `import recsys` stays cheap."""

from __future__ import annotations

import dataclasses
import inspect
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ttest_rel

import recsys
from recsys.choices import MODEL_NAMES, MODEL_PARAMS, SPLIT_NAMES
from recsys.data.schema import RATING, RatingScale
from recsys.data.synthetic import synthesize
from recsys.errors import ConfigError


@pytest.fixture(scope="module")
def data():
    return synthesize(4_000, n_users=120, n_movies=100, seed=5)


def by_hand_mean_rmse(split) -> float:
    mean = split.train[RATING].mean()
    return float(np.sqrt(np.mean((split.test[RATING].to_numpy() - mean) ** 2)))


def test_import_recsys_loads_neither_pandas_nor_numpy():
    code = "import sys, recsys; print('pandas' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_the_api_s_names_are_there_lazily():
    assert {"load", "make", "evaluate", "cross_validate", "temporal_split"} <= set(dir(recsys))
    assert recsys.random_split is recsys.experiment.random_split
    with pytest.raises(AttributeError):
        recsys.nothing_here  # noqa: B018


def test_choices_match_the_registry_and_the_splits():
    from recsys.data.splits import SPLITS
    from recsys.models.registry import MODELS

    assert tuple(MODELS) == MODEL_NAMES == tuple(MODEL_PARAMS)
    assert tuple(SPLITS) == SPLIT_NAMES
    for name, model in MODELS.items():
        defaults = {p.name: p.default for p in inspect.signature(model).parameters.values()}
        assert list(defaults) == list(MODEL_PARAMS[name]), name
        for param, default in defaults.items():
            assert isinstance(default, MODEL_PARAMS[name][param]), (name, param)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_factors": "abc"}, "mf: n_factors='abc' should be int"),
        ({"epochs": 2.5}, "mf: epochs=2.5 should be int"),
        ({"n_factors": -3}, "mf: n_factors must be >= 1"),
        ({"bogus": 1}, "mf has no parameter 'bogus'"),
    ],
)
def test_check_models_names_a_parameter_of_the_wrong_name_type_or_range(params, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        recsys.experiment.check_models(["mf"], params)


def test_a_model_made_with_a_value_of_the_wrong_type_fails_to_fit_with_a_config_error(data):
    with pytest.raises(ConfigError, match="baseline: a hyperparameter has the wrong type"):
        recsys.make("baseline", iterations="many").fit(data)


def test_evaluate_gives_a_frame_per_model_with_the_global_mean_by_hand(data):
    frame = recsys.evaluate(data, ["global-mean", "baseline"], "random", seed=3)
    assert isinstance(frame, pd.DataFrame) and list(frame.index) == ["global-mean", "baseline"]
    split = recsys.random_split(data.ratings, seed=3)
    assert frame.loc["global-mean", "rmse"] == pytest.approx(by_hand_mean_rmse(split), rel=1e-5)
    assert frame.loc["baseline", "rmse"] < frame.loc["global-mean", "rmse"]
    assert {"mae", "rmse_warm", "fit_seconds", "predict_seconds"} <= set(frame.columns)


def test_a_made_model_keeps_its_hyperparameters_and_its_label_says_so(data):
    model = recsys.make("mf", n_factors=4, epochs=3)
    frame = recsys.evaluate(data, [model, "mf"], recsys.seed1_split(data.ratings))
    assert list(frame.index) == ["mf(n_factors=4, epochs=3)", "mf"]
    assert frame.iloc[0]["rmse"] != frame.iloc[1]["rmse"]


def test_evaluate_with_ranking_adds_the_ranking_metrics(data):
    frame = recsys.evaluate(data, "baseline", "random", ranking=True)
    assert frame.filter(like="ndcg").shape[1] >= 1 and frame["n_users_ranked"].iloc[0] > 0


def test_cross_validate_gives_each_fold_and_their_mean_is_kfold_s(data):
    folds = recsys.cross_validate(data, ["global-mean", "baseline"], folds=3, seed=1)
    assert folds.index.names == ["model", "fold"] and len(folds) == 6
    splits = list(recsys.kfold_splits(data.ratings, folds=3, seed=1))
    expected = [by_hand_mean_rmse(s) for s in splits]
    np.testing.assert_allclose(folds.loc["global-mean", "rmse"], expected, rtol=1e-5)
    mean = recsys.evaluate(data, "baseline", "kfold", folds=3, seed=1).loc["baseline", "rmse"]
    assert folds.loc["baseline", "rmse"].mean() == pytest.approx(mean)


def test_repeat_uses_a_seed_per_run_and_the_paired_test_is_scipy_s(data):
    runs = recsys.repeat(data, ["global-mean", "baseline"], "random", times=3, seed=7)
    expected = [by_hand_mean_rmse(recsys.random_split(data.ratings, seed=s)) for s in (7, 8, 9)]
    np.testing.assert_allclose(runs.loc["global-mean", "rmse"], expected, rtol=1e-5)
    summary = recsys.summarize(runs)
    assert summary.loc["baseline", ("rmse", "std")] == pytest.approx(
        np.std(runs.loc["baseline", "rmse"], ddof=1)
    )
    test = recsys.paired_test(runs).iloc[0]
    t, p = ttest_rel(runs.loc["global-mean", "rmse"], runs.loc["baseline", "rmse"])
    assert (test["first"], test["second"]) == ("global-mean", "baseline")
    assert test["t"] == pytest.approx(t) and test["p"] == pytest.approx(p) and test["t"] > 0


def test_repeat_reseeds_models_that_take_a_random_state(data):
    runs = recsys.repeat(data, recsys.make("mf", n_factors=4, epochs=2), "seed1", times=2)
    assert runs["rmse"].iloc[0] != runs["rmse"].iloc[1]  # same split, other seeds


def test_a_split_from_files_scores_as_the_split_itself(data, tmp_path):
    split = recsys.random_split(data.ratings, seed=2)
    split.train.to_csv(tmp_path / "train.csv", index=False)
    split.test.to_csv(tmp_path / "test.csv", index=False)
    dataset, from_files = recsys.split_from_files(tmp_path / "train.csv", tmp_path / "test.csv",
                                                  data)  # fmt: skip
    assert len(from_files.train) == len(split.train) and len(from_files.test) == len(split.test)
    frame = recsys.evaluate(dataset, "global-mean", from_files)
    assert frame.loc["global-mean", "rmse"] == pytest.approx(by_hand_mean_rmse(split), rel=1e-5)


def test_bad_arguments_name_themselves(data):
    runs = recsys.repeat(data, ["global-mean", "baseline"], "seed1", times=2)
    with pytest.raises(ConfigError, match="metric 'nosuch' is not a column"):
        recsys.paired_test(runs, "nosuch")
    for times in ("2", 2.5, 0):
        with pytest.raises(ConfigError, match="times must be an integer >= 1"):
            recsys.repeat(data, "baseline", times=times)
    with pytest.raises(ConfigError, match="given twice"):
        recsys.evaluate(data, ["baseline", "baseline"])


def test_a_split_from_files_keeps_ratings_on_the_data_sets_own_scale(data, tmp_path):
    tenfold = data.with_ratings(data.ratings.assign(**{RATING: data.ratings[RATING] * 2}))
    tenfold = dataclasses.replace(tenfold, scale=RatingScale(1, 10, 1))
    split = recsys.random_split(tenfold.ratings, seed=2)
    split.train.to_csv(tmp_path / "train.csv", index=False)
    split.test.to_csv(tmp_path / "test.csv", index=False)
    files = (tmp_path / "train.csv", tmp_path / "test.csv")
    for _, from_files in (recsys.split_from_files(*files, tenfold),
                          recsys.split_from_files(*files, scale=tenfold.scale)):  # fmt: skip
        assert len(from_files.train) == len(split.train) and len(from_files.test) == len(split.test)
        assert from_files.train[RATING].max() == split.train[RATING].max() > 5


@pytest.mark.parametrize(
    "names, params, message",
    [
        (["baseline", "svd"], None, "unknown model 'svd'"),
        ([""], None, "give model names"),
        ([], None, "give model names"),
        (["baseline", "mf"], {"n_factors": 8}, "baseline has no parameter 'n_factors'"),
    ],
)
def test_names_and_parameters_are_checked_before_any_work(names, params, message):
    with pytest.raises(ConfigError, match=message):
        recsys.experiment.check_models(names, params)


def test_make_rejects_an_unknown_model_or_parameter():
    with pytest.raises(ConfigError, match="unknown model"):
        recsys.make("svd")
    with pytest.raises(ConfigError):
        recsys.make("mf", factors=3)
