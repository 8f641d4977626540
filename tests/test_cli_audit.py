"""The command line as a new user meets it (the CLI audit's findings): nothing the user had is
written over or deleted without asking, options that would do nothing are refused, empty values
are never read as "not given", and every refusal is one `recsys: error:` line with exit 2,
before any data is loaded where the arguments alone show the mistake. Commands run in-process
through `recsys.cli.main` on a small synthetic data set."""

from __future__ import annotations

import json
import re
import socket

import pytest

from recsys.cli import main
from recsys.data.synthetic import write_synthetic

EMPTY_RATINGS = "userId,movieId,rating,timestamp\n1,10,9.0,100\n2,10,9.5,200\n"  # off scale
MOVIES = "movieId,title,genres\n10,Heat (1995),Action\n"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """3,000 MovieLens-layout ratings."""
    return write_synthetic(tmp_path_factory.mktemp("audit") / "ml", 3000, format="movielens")


@pytest.fixture
def empty(tmp_path):
    """A MovieLens folder whose every rating is off the scale: it cleans to 0 ratings."""
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "ratings.csv").write_text(EMPTY_RATINGS)
    (folder / "movies.csv").write_text(MOVIES)
    return folder


def refused(capsys, args: list[str]) -> str:
    """The one error line of a refused command (exit 2, no traceback)."""
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = [p for p in re.split(r"[\r\n]", err) if "error" in p]
    assert len(lines) == 1 and lines[0].startswith("recsys: error: "), err
    assert "Traceback" not in err
    return lines[0]


# -- 1. synth writes over nobody's files ----------------------------------------------------
def test_synth_refuses_a_folder_of_other_files_and_an_empty_path(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "ratings.csv").write_text("my precious ratings")
    line = refused(capsys, ["-q", "synth", str(mine), "--format", "movielens", "--ratings", "100"])
    assert "holds no recsys manifest.json" in line
    assert (mine / "ratings.csv").read_text() == "my precious ratings"
    assert "OUT ''" in refused(capsys, ["-q", "synth", "", "--ratings", "100"])


# -- 5. outputs are replaced only with --force ----------------------------------------------
def test_split_replaces_its_files_only_with_force(data, tmp_path, capsys):
    out = tmp_path / "sp"
    out.mkdir()
    (out / "temporal-train.csv").write_text("my own file")
    line = refused(capsys, ["-q", "split", "--data", str(data), "--out", str(out)])
    assert "temporal-train.csv" in line and "--force" in line
    assert (out / "temporal-train.csv").read_text() == "my own file"
    assert main(["-q", "split", "--data", str(data), "--out", str(out), "--force"]) == 0
    assert (out / "temporal-train.csv").read_text().startswith("user_id")


@pytest.mark.parametrize(
    "command",
    [
        ["evaluate", "--model", "baseline", "--json", "{file}"],
        ["evaluate", "--model", "baseline", "--report", "{file}"],
        ["tune", "--model", "baseline", "--out", "{file}"],
        ["tune", "--model", "baseline", "--out", "{other}.json", "--plot", "{file}"],
        ["tune", "--model", "baseline", "--out", "{stem}.json"],  # its plot: {stem}.png
    ],
)
def test_an_existing_output_file_is_refused_before_any_work(command, data, tmp_path, capsys):
    precious = tmp_path / "keep.png"
    precious.write_text("precious")
    names = {"file": str(precious), "other": str(tmp_path / "o"), "stem": str(tmp_path / "keep")}
    args = [a.format(**names) for a in command]
    assert main([*args, "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("recsys: error: ") and "already there; pass --force" in err
    assert "read 3,000 rows" not in err  # refused before the data was loaded
    assert precious.read_text() == "precious"


def test_evaluate_plots_into_a_folder_with_those_files_needs_force(data, tmp_path, capsys):
    (tmp_path / "rmse.png").write_text("mine")
    args = ["-q", "evaluate", "--data", str(data), "--model", "baseline", "--no-ranking",
            "--plots", str(tmp_path)]  # fmt: skip
    assert "rmse.png" in refused(capsys, args)
    assert (tmp_path / "rmse.png").read_text() == "mine"
    assert main([*args, "--force"]) == 0
    assert (tmp_path / "rmse.png").read_bytes().startswith(b"\x89PNG")


# -- 7, 8, 9. evaluate --repeat and --params -------------------------------------------------
def test_repeat_applies_params_and_relevant_and_shows_ranking_metrics(data, tmp_path, capsys):
    params = tmp_path / "bp.json"
    params.write_text(json.dumps({"baseline": {"user_damping": 1000.0, "item_damping": 1000.0}}))

    def run(*extra: str) -> dict:
        out = tmp_path / f"r{len(list(tmp_path.iterdir()))}.json"
        assert main(["-q", "evaluate", "--data", str(data), "--model", "baseline", "--split",
                     "random", "--repeat", "1", "--json", str(out), *extra]) == 0  # fmt: skip
        return json.loads(out.read_text())["runs"][0]

    plain, damped = run(), run("--params", str(params))
    assert damped["rmse"] != pytest.approx(plain["rmse"])
    assert run("--relevant", "3")["ndcg_at_10"] != pytest.approx(plain["ndcg_at_10"])
    shown = capsys.readouterr().out
    assert "ndcg_at_10" in shown and "± nan" not in shown


def test_repeat_with_train_and_test_files_is_refused(data, tmp_path, capsys):
    files = tmp_path / "f.csv"
    files.write_text("x")
    line = refused(capsys, ["-q", "evaluate", "--train", str(files), "--test", str(files),
                            "--model", "baseline", "--repeat", "2"])  # fmt: skip
    assert "--repeat" in line and "--train" in line


def test_a_params_file_for_another_model_is_refused(data, tmp_path, capsys):
    params = tmp_path / "popular.json"
    params.write_text(json.dumps({"popular": {"half_life_days": 100.0}}))
    line = refused(capsys, ["-q", "train", "--data", str(data), "--model", "baseline",
                            "--params", str(params), "--out", str(tmp_path / "t"),
                            "--no-evaluate"])  # fmt: skip
    assert "holds parameters for popular, not for baseline" in line
    assert not (tmp_path / "t").exists()


# -- 11, 12, 13, 17, 18: refused from the arguments alone -----------------------------------
@pytest.mark.parametrize(
    "args, message",
    [
        (["split", "--split", "seed1", "--test-fraction", "0.5", "--out", "o"],
         "--test-fraction: the seed1 split ignores it"),
        (["evaluate", "--model", "baseline", "--cutoff", "2010-01-01"],
         "--cutoff: the seed1 split ignores it"),
        (["evaluate", "--model", "baseline", "--split", "temporal", "--cutoff", "2010-01-01",
          "--test-fraction", "0.2"], "--cutoff or --test-fraction, not both"),
        (["evaluate", "--model", "baseline", "--repeat", "0"], "--repeat must be >= 1, got 0"),
        (["evaluate", "--model", "baseline", "--relevant", "nan"], "--relevant nan"),
        (["tune", "--model", "baseline", "--plot", "x.xyz"], "--plot x.xyz: give a file ending"),
        (["train", "--model", "baseline,mf", "--out", "o"], "train takes one model"),
        (["tune", "--model", "mf,baseline"], "tune takes one model"),
        (["info", "--data", ""], "--data '': empty"),
        (["train", "--model", "baseline", "--out", "o", "--feedback", ""], "--feedback '': empty"),
        (["evaluate", "--model", "baseline", "--json", ""], "--json '': empty"),
    ],
)  # fmt: skip
def test_options_that_would_do_nothing_or_are_empty_are_refused(args, message, data, capsys):
    if "--data" not in args:
        args = [*args, "--data", str(data)]
    assert message in refused(capsys, ["-q", *args])


def test_split_options_are_refused_with_train_and_test_files(data, tmp_path, capsys):
    f = tmp_path / "f.csv"
    f.write_text("x")
    base = ["-q", "evaluate", "--train", str(f), "--test", str(f), "--model", "baseline"]
    assert "--split kfold" in refused(capsys, [*base, "--split", "kfold"])
    assert "--test-fraction" in refused(capsys, [*base, "--test-fraction", "0.2"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--netflix", "--format", "movielens", "--ratings", "5", "--users", "3"],
         "--format, --ratings, --users: --netflix sets the size"),
        (["--fraction", "0.5", "--ratings", "100"], "--fraction: only with --netflix"),
    ],
)  # fmt: skip
def test_synth_options_that_would_be_ignored_are_refused(args, message, tmp_path, capsys):
    assert message in refused(capsys, ["-q", "synth", str(tmp_path / "s"), *args])
    assert not (tmp_path / "s").exists()


def test_a_relevance_threshold_above_the_scale_is_refused(data, capsys):
    line = refused(capsys, ["-q", "evaluate", "--data", str(data), "--model", "baseline",
                            "--relevant", "99"])  # fmt: skip
    assert "--relevant 99: above the top of the rating scale (5)" in line


def test_tune_refuses_a_metric_its_parameters_cannot_move(data, tmp_path, capsys):
    out = tmp_path / "keep.json"
    line = refused(capsys, ["-q", "tune", "--data", str(data), "--model", "popular", "--metric",
                            "rmse", "--trials", "3", "--out", str(out)])  # fmt: skip
    assert "popular's predicted ratings do not depend" in line
    assert not out.exists()


def test_serve_refuses_an_empty_model(capsys, monkeypatch):
    monkeypatch.delenv("RECSYS_MODEL", raising=False)
    assert "--model '': empty" in refused(capsys, ["serve", "--port", "18400", "--model", ""])


# -- 14. train --feedback only reads --------------------------------------------------------
def test_train_feedback_never_writes_into_the_file_named(data, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.touch()
    line = refused(capsys, ["-q", "train", "--data", str(data), "--model", "baseline",
                            "--out", str(tmp_path / "f1"), "--no-evaluate",
                            "--feedback", f"sqlite:///{afile}"])  # fmt: skip
    assert "holds no rating store" in line
    assert afile.stat().st_size == 0


# -- 16, 20. data with no ratings -------------------------------------------------------------
def test_split_of_no_ratings_is_one_line_and_leaves_no_folder(empty, tmp_path, capsys):
    out = tmp_path / "z2"
    assert "no ratings to split" in refused(capsys, ["split", "--data", str(empty),
                                                     "--out", str(out)])  # fmt: skip
    assert not out.exists()


def test_evaluate_of_no_ratings_says_so_on_its_own_line(empty, capsys):
    line = refused(capsys, ["evaluate", "--data", str(empty), "--model", "baseline"])
    assert "kept 0 ratings: nothing to evaluate" in line and "popular" not in line


# -- 21. serve on a port that is taken ------------------------------------------------------
def test_serve_on_a_taken_port_fails_before_loading_anything(capsys, monkeypatch):
    for name in ("RECSYS_MODEL", "RECSYS_DATA"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = refused(capsys, ["serve", "--port", str(port)])
    assert f"--port {port}: cannot listen there" in line
    assert "ranker-demo" not in capsys.readouterr().err  # the demo model was never loaded


# -- 22. help and quiet -------------------------------------------------------------------------
def test_help_names_every_command_and_quiet_prints_no_peak_memory(data, capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    description = capsys.readouterr().out.split("positional arguments")[0]
    assert "tune" in description.split("evaluate")[-1]
    assert main(["-q", "evaluate", "--data", str(data), "--model", "global-mean",
                 "--no-ranking"]) == 0  # fmt: skip
    assert "peak memory" not in capsys.readouterr().err
