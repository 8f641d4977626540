"""The `recsys` data commands (info, synth, sample, split) through `recsys.cli.main`: what they
print, what they write, and the exit code and message of a failure."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from recsys.cli import main
from recsys.data.loading import load
from recsys.data.splits import SPLITS
from recsys.data.synthetic import write_synthetic
from tests.data.test_sources import pack

MOVIES = 'movieId,title,genres\n10,"Heat, The (1995)",Action\n20,Up (2009),Animation\n'
RATINGS = (
    "userId,movieId,rating,timestamp\n"
    "1,10,4.0,100\n"
    "1,20,3.5,200\n"
    ",10,4.0,300\n"  # line 4: no user id
    "2,10,9.0,400\n"  # line 5: off the scale
    "2,20,2.0,500\n"
    "3,10,1.0,600\n"
)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def movielens(tmp_path):
    return pack(tmp_path, {"ratings.csv": RATINGS, "movies.csv": MOVIES}, "zip")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A synthetic Netflix-layout folder written by `recsys synth`."""
    out = tmp_path_factory.mktemp("synth") / "netflix"
    assert main(["-q", "synth", str(out), "--ratings", "20000", "--users", "500",
                 "--movies", "200", "--seed", "3"]) == 0  # fmt: skip
    return out


def test_info_prints_the_data_set_and_its_cleaning_report(movielens, capsys):
    assert main(["-q", "info", "--data", str(movielens)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["ratings"], info["users"], info["movies_rated"]) == (4, 3, 2)
    assert info["movies_in_catalogue"] == 2
    assert info["cleaning"]["rows_read"] == 6 and info["cleaning"]["rows_kept"] == 4
    assert info["cleaning"]["dropped"] == {"missing_id": 1, "off_scale": 1}
    assert info["scale"] == {"low": 0.5, "high": 5.0, "step": 0.5}


def test_info_logs_the_one_line_report(movielens, caplog):
    with caplog.at_level(logging.INFO):
        assert main(["info", "--data", str(movielens)]) == 0
    assert "read 6 rows, kept 4, dropped 2 (missing id 1, off scale 1)" in caplog.text


def test_strict_info_fails_with_file_line_and_reason(movielens, capsys):
    assert main(["-q", "info", "--strict", "--data", str(movielens)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"recsys: error: {movielens}!release/ratings.csv: line 4: missing user")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("nowhere", None, "no such file or folder"),
        ("empty.csv", b"", "is empty"),
        ("ml.zip", b"PK\x03\x04broken", "corrupt"),
    ],
)
def test_info_on_a_missing_empty_or_broken_path_is_a_clear_error(
    tmp_path, capsys, name, content, message
):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert main(["-q", "info", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"recsys: error: {path}") and message in err


def test_info_reads_a_generic_table_with_the_columns_and_scale_given(tmp_path, capsys):
    table = tmp_path / "scores.tsv"
    table.write_text("who\twhat\tstars\twhen\na\tm1\t7\t2005-01-02\nb\tm1\t11\t2005-01-03\n"
                     "b\tm2\t10\t2005-01-04\n")  # fmt: skip
    args = ["-q", "info", "--data", str(table), "--columns", "who,what,stars,when"]
    assert main([*args, "--scale", "1,10,1"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["ratings"], info["users"], info["movies_rated"]) == (2, 2, 2)
    assert info["cleaning"]["dropped"] == {"off_scale": 1}  # 11 is off a 1-10 scale
    assert info["scale"] == {"low": 1.0, "high": 10.0, "step": 1.0}
    assert (info["first_rating"], info["last_rating"]) == ("2005-01-02", "2005-01-04")
    assert main(args) == 0  # the default half-star scale: 7, 11 and 10 are all off it
    assert json.loads(capsys.readouterr().out)["cleaning"]["dropped"] == {"off_scale": 3}
    assert main([*args, "--scale", "10,1"]) == 2
    assert "--scale '10,1': give LOW,HIGH[,STEP]" in capsys.readouterr().err
    assert main(["-q", "info", "--data", str(table), "--columns", "who,what"]) == 2
    assert "give USER,ITEM,RATING[,TIME]" in capsys.readouterr().err


def test_synth_writes_a_netflix_layout_with_a_manifest(synthetic):
    names = sorted(p.name for p in synthetic.iterdir())
    assert names == ["combined_data_1.txt", "manifest.json", "movie_titles.csv", "probe.txt"]
    manifest = json.loads((synthetic / "manifest.json").read_text())
    assert manifest["kind"] == "synthetic" and manifest["params"]["seed"] == 3
    dataset = load(synthetic, cache=False)
    assert dataset.n_ratings == manifest["counts"]["ratings"] == 20_000
    assert dataset.ratings["user_id"].nunique() == 500
    assert dataset.fingerprint == manifest["fingerprint"]
    assert dataset.report.dropped == {}


def test_synth_in_the_movielens_layout(tmp_path, capsys):
    out = tmp_path / "ml"
    assert main(["-q", "synth", str(out), "--ratings", "3000", "--format", "movielens"]) == 0
    assert (out / "ratings.csv").exists() and (out / "movies.csv").exists()
    assert load(out, cache=False).n_ratings == 3000
    assert "3,000 ratings" in capsys.readouterr().out


def test_sample_writes_a_reproducible_netflix_sample(synthetic, tmp_path):
    args = ["--movies", "30", "--min-ratings", "3", "--seed", "9"]
    assert main(["-q", "sample", str(synthetic), str(tmp_path / "a"), *args]) == 0
    assert main(["-q", "sample", str(synthetic), str(tmp_path / "b"), *args]) == 0
    a, b = (tmp_path / "a", tmp_path / "b")
    assert (a / "combined_data_1.txt").read_bytes() == (b / "combined_data_1.txt").read_bytes()
    manifest = json.loads((a / "manifest.json").read_text())
    source = load(synthetic, cache=False)
    assert manifest["format"] == "netflix"
    assert manifest["params"] == {"n_movies": 30, "min_ratings": 3, "seed": 9, "start": None,
                                  "end": None}  # fmt: skip
    assert manifest["source"]["fingerprint"] == source.fingerprint
    assert manifest["source"]["ratings"] == 20_000
    sampled = load(a, cache=False)
    assert sampled.fingerprint == manifest["fingerprint"]
    assert sampled.n_ratings == manifest["counts"]["ratings"] > 0
    assert sampled.ratings["item_id"].nunique() <= 30
    assert sampled.ratings.groupby("user_id").size().min() >= 3
    # Every rating in the sample is one of the source's, as it was.
    merged = sampled.ratings.merge(source.ratings, on=["user_id", "item_id"], how="left")
    np.testing.assert_array_equal(merged["rating_x"], merged["rating_y"])
    assert main(["-q", "sample", str(synthetic), str(tmp_path / "c"), "--movies", "30",
                 "--seed", "10"]) == 0  # fmt: skip
    assert (tmp_path / "c" / "combined_data_1.txt").read_bytes() != (
        a / "combined_data_1.txt"
    ).read_bytes()


def test_sample_never_writes_over_a_data_set(tmp_path, capsys):
    release = pack(tmp_path, {"ratings.csv": RATINGS, "movies.csv": MOVIES}, "folder")
    assert main(["-q", "sample", str(release), str(release), "--movies", "1"]) == 2
    assert "holds no recsys manifest.json" in capsys.readouterr().err
    assert (release / "ratings.csv").read_text() == RATINGS
    assert sorted(p.name for p in release.iterdir()) == ["movies.csv", "ratings.csv"]
    # A folder recsys wrote (it has a manifest) may be replaced by a new sample.
    made = write_synthetic(tmp_path / "synthetic", 2000, seed=1)
    assert main(["-q", "sample", str(made), str(made), "--movies", "5"]) == 0
    assert json.loads((made / "manifest.json").read_text())["kind"] == "sample"


def test_sample_of_the_demo_data(tmp_path):
    assert main(["-q", "sample", "demo", str(tmp_path / "s"), "--movies", "40"]) == 0
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["source"]["name"] == "demo" and manifest["source"]["ratings"] == 80_000
    assert manifest["counts"]["movies_rated"] <= 40


def test_sample_refuses_a_bad_window(synthetic, tmp_path, capsys):
    code = main(["-q", "sample", str(synthetic), str(tmp_path / "s"), "--start", "2005-01-01",
                 "--end", "2004-01-01"])  # fmt: skip
    assert code == 2
    assert "is empty" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("split", SPLITS)
def test_split_writes_train_and_test_csvs_that_partition_the_ratings(
    synthetic, tmp_path, capsys, split
):
    out = tmp_path / "splits"
    assert main(["-q", "split", "--data", str(synthetic), "--split", split, "--folds", "3",
                 "--out", str(out)]) == 0  # fmt: skip
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(printed) == (3 if split == "kfold" else 1)
    source = load(synthetic, cache=False).ratings
    for described in printed:
        train = pd.read_csv(out / f"{described['name']}-train.csv")
        test = pd.read_csv(out / f"{described['name']}-test.csv")
        assert list(train.columns) == ["user_id", "item_id", "rating", "timestamp"]
        assert (len(train), len(test)) == (described["n_train"], described["n_test"])
        both = pd.concat([train, test]).sort_values(["user_id", "item_id"], ignore_index=True)
        expected = source.sort_values(["user_id", "item_id"], ignore_index=True)
        np.testing.assert_array_equal(both.to_numpy(), expected.to_numpy())
        if split == "temporal":
            assert train["timestamp"].max() < test["timestamp"].min()


def test_split_seed1_on_the_demo_data(tmp_path, capsys):
    assert main(["-q", "split", "--data", "demo", "--split", "seed1", "--out", str(tmp_path)]) == 0
    described = json.loads(capsys.readouterr().out)
    assert (described["n_train"], described["n_test"]) == (72_000, 8_000)


@pytest.mark.real_data
def test_split_seed1_on_the_dirty_movielens_copy(ml_small_dirty, tmp_path, capsys):
    assert main(["-q", "split", "--data", str(ml_small_dirty), "--split", "seed1",
                 "--out", str(tmp_path)]) == 0  # fmt: skip
    described = json.loads(capsys.readouterr().out)
    assert (described["n_train"], described["n_test"]) == (89_128, 9_904)


@pytest.mark.real_data
def test_info_on_the_dirty_copy_reports_what_it_dropped(ml_small_dirty, capsys, caplog):
    with caplog.at_level(logging.INFO):
        assert main(["info", "--data", str(ml_small_dirty)]) == 0
    cleaning = json.loads(capsys.readouterr().out)["cleaning"]
    assert cleaning["rows_kept"] == 99_032 and cleaning["dropped"] == {"missing_id": 1_804}
    assert cleaning["also"] == {"off_scale": 568, "duplicate": 693}
    assert "dropped 1,804 (missing id 1,804; of these also off scale 568, duplicate 693)" in (
        caplog.text
    )
