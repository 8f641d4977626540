"""`recsys tune`: a search on a validation part of the training ratings only, whose best
hyperparameters `train` and `evaluate` read back; and the ranking table's reference row and
novelty."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recsys.cli import main
from recsys.data.splits import make_splits
from recsys.errors import ConfigError
from recsys.evaluation.metrics import novelty
from recsys.evaluation.protocols import evaluate
from recsys.evaluation.tuning import read_params, tune, validation_split
from tests.models.test_ranker import taste_groups


def keys(frame: pd.DataFrame) -> set:
    return set(zip(frame["user_id"], frame["item_id"], strict=True))


@pytest.mark.parametrize("split", ["random", "user-last", "temporal"])
def test_the_validation_part_is_cut_from_the_training_part_alone(split):
    data = taste_groups()
    outer = make_splits(data.ratings, split, last_k=3)[0]
    inner = validation_split(outer.train, split, last_k=3)
    assert keys(inner.train) | keys(inner.test) == keys(outer.train)
    assert not (keys(inner.test) & keys(outer.test))


def test_tune_finds_better_than_its_worst_trial_and_writes_what_train_reads(tmp_path):
    data = taste_groups()
    result = tune(data, "ease", "random", trials=4, seed=0)
    values = [t["value"] for t in result["trials"]]
    assert len(values) == 4 and result["value"] == max(values)
    assert set(result["params"]) == {"l2"}
    path = tmp_path / "params.json"
    path.write_text(json.dumps(result))
    assert read_params(path) == {"ease": result["params"]}


def test_bad_params_files_and_names_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="unknown model"):
        tune(taste_groups(), "svd", "random", trials=1)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable"):
        read_params(bad)
    bad.write_text(json.dumps({"svd": {"k": 1}}))
    with pytest.raises(ConfigError, match="unknown models"):
        read_params(bad)


def test_cli_tune_then_evaluate_with_the_params(tmp_path, capsys):
    data = taste_groups()
    folder = tmp_path / "data"
    folder.mkdir()
    data.ratings.rename(columns={"user_id": "userId", "item_id": "movieId"}).to_csv(
        folder / "ratings.csv", index=False
    )
    movies = data.movies.assign(genres=data.movies["genres"].map("|".join))
    movies.rename(columns={"item_id": "movieId"})[["movieId", "title", "genres"]].to_csv(
        folder / "movies.csv", index=False
    )
    out = tmp_path / "best.json"
    assert main(["tune", "--data", str(folder), "--model", "popular", "--split", "random",
                 "--trials", "2", "--out", str(out)]) == 0  # fmt: skip
    assert out.is_file() and out.with_suffix(".png").is_file()
    assert main(["evaluate", "--data", str(folder), "--model", "popular", "--split", "random",
                 "--params", str(out), "--json", str(tmp_path / "r.json")]) == 0  # fmt: skip
    results = json.loads((tmp_path / "r.json").read_text())
    assert set(results["models"]["popular"]) >= {"ndcg_at_5", "ndcg_at_10", "ndcg_at_20"}
    assert main(["tune", "--data", str(folder), "--model", "popular", "--metric", "mae"]) == 2


def test_popular_is_always_the_reference_row():
    results = evaluate(taste_groups(), "random", ["ease"])
    assert list(results["models"]) == ["popular", "ease"]
    assert list(evaluate(taste_groups(), "random", ["ease"], ranking=False)["models"]) == ["ease"]


def test_novelty_is_the_mean_popularity_percentile_of_what_is_shown():
    counts = pd.Series({10: 5, 11: 3, 12: 1, 13: 1})  # sorted counts 1 1 3 5
    # movie 10 has all 4 counts at or below it (100 %), 12 has 2 (50 %), 99 none (0 %)
    assert novelty([np.array([10, 12]), np.array([99])], counts) == pytest.approx(50.0)
