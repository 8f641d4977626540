"""`recsys evaluate` end to end on synthetic data: every split, the JSON the issue names,
plots; and `recsys train` writing an artifact."""

from __future__ import annotations

import json
import logging
import re

import pytest

from recsys.cli import main
from recsys.data.loading import load
from recsys.data.splits import temporal_split
from recsys.data.synthetic import write_synthetic
from recsys.evaluation.protocols import evaluate, evaluate_split, score_model
from recsys.models.registry import make_model

KEYS = {"rmse", "mae", "rmse_warm", "rmse_cold", "precision_at_10", "recall_at_10",
        "ndcg_at_10", "coverage", "fit_seconds", "predict_seconds"}  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("synth"), 8_000, seed=5)


def test_evaluate_writes_the_table_json_and_plots(folder, tmp_path, capsys):
    out = tmp_path / "result.json"
    code = main(["-q", "evaluate", "--data", str(folder), "--split", "random", "--model",
                 "baseline,mf", "--json", str(out), "--plots", str(tmp_path)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "baseline" in printed and "mf" in printed
    result = json.loads(out.read_text())
    assert {"name", "n_train", "n_test"} <= set(result["split"])
    assert result["split"]["n_train"] + result["split"]["n_test"] == 8_000
    for name in ("baseline", "mf"):
        assert set(result["models"][name]) >= KEYS
    assert result["models"]["mf"]["rmse"] < result["models"]["baseline"]["rmse"]
    assert (tmp_path / "rmse.png").stat().st_size > 1000
    assert (tmp_path / "error_by_activity.png").stat().st_size > 1000


@pytest.mark.parametrize("split", ["temporal", "user-last", "seed1"])
def test_every_split_scores(folder, split):
    from recsys.data.loading import load

    result = evaluate(load(folder), split, ["baseline"], ranking=False)
    assert result["split"]["name"] == split
    assert 0.5 < result["models"]["baseline"]["rmse"] < 1.5


def test_kfold_reports_each_fold_and_the_mean(folder):
    from recsys.data.loading import load

    result = evaluate(load(folder), "kfold", ["baseline"], folds=3, ranking=False)
    assert result["split"]["folds"] == 3
    assert result["split"]["n_test"] == pytest.approx(8_000 / 3, abs=1)
    each = [f["rmse"] for f in result["models"]["baseline"]["folds"]]
    assert len(each) == 3 and len(set(each)) == 3
    assert result["models"]["baseline"]["rmse"] == pytest.approx(sum(each) / 3)


def test_train_writes_an_artifact_that_loads(folder, tmp_path):
    assert main(["-q", "train", "--data", str(folder), "--model", "baseline",
                 "--out", str(tmp_path / "artifact")]) == 0  # fmt: skip
    assert any((tmp_path / "artifact").rglob("model.json"))


def test_unknown_model_or_split_is_a_clear_error(folder, capsys):
    assert main(["-q", "evaluate", "--data", str(folder), "--model", "svd++"]) != 0
    assert "unknown model" in capsys.readouterr().err


def test_a_seed_fit_finds_the_test_ratings_closest_raters_with_its_own(folder, caplog):
    """evaluate_split announces the test ratings (`expecting`): gbm-seed's fit finds their
    closest raters in the call for its training ratings, the predictions take them, and the
    RMSE is that of fitting and predicting apart."""
    data = load(folder, cache=False)
    split = temporal_split(data.ratings)
    params = {"gbm-seed": {"max_iter": 60}}
    with caplog.at_level(logging.INFO, logger="recsys.features.closest"):
        result = evaluate_split(data, split, ["gbm-seed"], params=params, ranking=False)
    found = re.search(r"of (\d+) targets found ahead .*; (\d+) taken", caplog.text)
    assert found and int(found[1]) == len(split.test)
    known = split.test["user_id"].isin(split.train["user_id"])
    known &= split.test["item_id"].isin(split.train["item_id"])
    assert int(found[2]) == known.sum() > 0
    alone = make_model("gbm-seed", **params["gbm-seed"]).fit(data.with_ratings(split.train))
    assert result["models"]["gbm-seed"]["rmse"] == score_model(alone, split, ranking=False)["rmse"]
