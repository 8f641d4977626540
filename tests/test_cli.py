"""What a person at a terminal meets: a fast `--help` and fast errors, names checked before
any work, settings errors in one line (a traceback only with --debug), log lines that never
run into a progress bar, one result line from `synth`, and evaluate's --report, --train/--test
and --repeat. Each command runs as `python -m recsys.cli` in its own process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "sklearn", "numba", "scipy", "tqdm")


def recsys(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recsys.cli", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=300,
    )  # fmt: skip


def imported_by(*args: str) -> tuple[int, set[str]]:
    """The exit code of `recsys ARGS` run in-process, and which heavy libraries it imported."""
    code = (
        "import sys\nfrom recsys.cli import main\n"
        f"try:\n    rc = main({list(args)!r})\nexcept SystemExit as e:\n    rc = e.code\n"
        f"print(rc, *[m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    rc, *modules = out.stdout.splitlines()[-1].split()
    return int(rc), set(modules)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synth") / "data"
    made = recsys("synth", str(folder), "--ratings", "3000", "--format", "movielens")
    assert made.returncode == 0, made.stderr
    return folder


@pytest.mark.parametrize(
    "args, code",
    [
        (["--help"], 0),
        (["evaluate", "--help"], 0),
        (["evaluate", "--data", "demo", "--model", "baseline,svd"], 2),
        (["evaluate", "--data", "demo", "--model", ""], 2),
        (["evaluate", "--data", "demo", "--model", "mf,"], 2),
        (["evaluate", "--data", "demo", "--split", "nope", "--model", "mf"], 2),
        (["evaluate", "--model", "mf"], 2),
        (["evaluate", "--train", "a.csv", "--model", "mf"], 2),
        (["train", "--data", "demo", "--model", "svd", "--out", "x"], 2),
        (["train", "--data", "demo", "--model", "mf", "--param", "n_factors=abc", "--out", "x"], 2),
        (["info", "--data", "/no/such/folder"], 2),
        (["evaluate", "--data", "demo", "--model", "mf", "--split", "kfold", "--folds", "101"], 2),
        (["split", "--data", "demo", "--split", "kfold", "--folds", "1", "--out", "x"], 2),
        (["serve", "--port", "65536"], 2),
        (["info", "--data", "README.md", "--scale", "nan,5"], 2),
        (["info", "--data", "README.md", "--scale", "0.5,5,0"], 2),
        (["info", "--data", "README.md", "--columns", "u,u,r"], 2),
        (["evaluate", "--data", "demo", "--model", "mf", "--json", "/proc/x/r.json"], 2),
        (["evaluate", "--data", "demo", "--model", "mf", "--plots", "README.md"], 2),
        (["split", "--data", "demo", "--out", "/proc/x"], 2),
        (["synth", "README.md"], 2),
        (["evaluate", "--data", "demo", "--model", "mf", "--cutoff", "x"], 2),
    ],
)
def test_help_and_early_errors_import_nothing_heavy(args, code):
    assert imported_by(*args) == (code, set())


@pytest.mark.parametrize(
    "model, message",
    [
        ("baseline,svd", "unknown model 'svd'; choose from global-mean, baseline"),
        ("", "--model '': give model names"),
        ("baseline,,mf", "give model names"),
    ],
)
def test_model_names_are_checked_before_any_work(model, message):
    done = recsys("evaluate", "--data", "demo", "--model", model)
    assert done.returncode == 2 and message in done.stderr
    assert "RMSE" not in done.stderr + done.stdout  # nothing was trained


def test_a_parameter_no_model_takes_is_refused_before_loading_data(tmp_path):
    done = recsys("evaluate", "--data", "demo", "--model", "baseline,mf", "--param", "epochs=3")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "recsys: error: baseline has no parameter 'epochs' "
        "(it takes user_damping, item_damping, iterations)"
    )


def test_a_parameter_out_of_range_is_one_line_before_loading_data():
    args = ("--data", "demo", "--model", "mf", "--param", "n_factors=0", "--out", "o")
    done = recsys("train", *args)
    assert done.returncode == 2
    assert done.stderr.strip() == "recsys: error: mf: n_factors must be >= 1"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"RECSYS_MAX_BATCH": "abc"}, "RECSYS_MAX_BATCH='abc': Input should be a valid integer"),
        ({"RECSYS_MODEL": "/no/such/artifact"}, "RECSYS_MODEL='/no/such/artifact': no such"),
        ({"RECSYS_DATA": "/no/such/data"}, "RECSYS_DATA='/no/such/data': no such file"),
    ],
)
def test_a_bad_setting_is_one_line_and_a_traceback_only_with_debug(env, message):
    done = recsys("serve", "--port", "1", env=env)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"recsys: error: {done.stderr.split('error: ')[1].strip()}"]
    assert message in done.stderr and "Traceback" not in done.stderr
    debug = recsys("--debug", "serve", "--port", "1", env=env)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_uvicorn_server_app_with_a_bad_setting_says_so_in_one_line():
    """`uvicorn server:app` imports server.py, which builds the app from RECSYS_*."""
    env = {**os.environ, "RECSYS_MAX_N": "0"}
    done = subprocess.run([sys.executable, "-c", "import server"], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        "recsys: error: RECSYS_MAX_N='0': Input should be greater than or equal to 1"
    )


def test_a_start_up_that_fails_says_why_in_one_line_and_a_traceback_only_with_debug(tmp_path):
    """An artifact whose model arrays were replaced (by an object array, never unpickled) is
    refused at start-up (exit 3): the reason in one line, uvicorn's traceback of it only with
    --debug."""
    artifact = tmp_path / "artifact"
    assert recsys("train", "--data", "demo", "--model", "popular", "--no-evaluate",
                  "--out", str(artifact)).returncode == 0  # fmt: skip
    with open(artifact / "arrays.npz", "wb") as out:
        np.savez(out, x=np.array([{"run": "code"}], dtype=object))
    env = {"RECSYS_STATE_DIR": str(tmp_path / "state")}
    done = recsys("serve", "--port", "1", "--model", str(artifact), env=env)
    assert done.returncode == 3
    assert "cannot start the recsys service" in done.stderr and "corrupt" in done.stderr
    assert "Traceback" not in done.stderr
    debug = recsys("--debug", "serve", "--port", "1", "--model", str(artifact), env=env)
    assert debug.returncode == 3 and "Traceback" in debug.stderr


def test_synth_says_what_it_wrote_once(tmp_path):
    done = recsys("synth", str(tmp_path / "out"), "--ratings", "2000")
    assert done.returncode == 0
    said = [line for line in (done.stdout + done.stderr).splitlines() if "wrote" in line]
    assert said == [f"wrote a synthetic data set of 2,000 ratings to {tmp_path / 'out'}"]


@pytest.mark.parametrize("command", ["synth", "evaluate"])
def test_quiet_draws_no_progress_bars_and_logs_no_info(tmp_path, data, command):
    def run(*flags: str) -> subprocess.CompletedProcess:
        if command == "synth":
            return recsys(*flags, "synth", str(tmp_path / f"out{flags}"), "--ratings", "20000")
        return recsys(*flags, "evaluate", "--data", str(data), "--model", "baseline",
                      "--no-ranking")  # fmt: skip

    loud, quiet = run(), run("-q")
    assert loud.returncode == quiet.returncode == 0, quiet.stderr
    assert "/s]" in loud.stderr  # a bar with its rate
    assert "/s]" not in quiet.stderr and "recsys: " not in quiet.stderr


def test_log_lines_never_run_into_the_progress_bar(data):
    done = recsys(
        "evaluate", "--data", str(data), "--model", "global-mean,baseline", "--no-ranking"
    )
    assert done.returncode == 0, done.stderr
    pieces = re.split(r"[\r\n]", done.stderr)
    logged = [p for p in pieces if "recsys: " in p]
    assert any("RMSE" in p for p in logged)
    assert all(p.startswith("recsys: ") for p in logged), logged


def test_report_is_one_self_contained_page_with_the_tables_and_plots(data, tmp_path):
    page = tmp_path / "report.html"
    done = recsys(
        "evaluate",
        "--data",
        str(data),
        "--model",
        "global-mean,baseline",
        "--no-ranking",
        "--report",
        str(page),
        "--json",
        str(tmp_path / "r.json"),
    )
    assert done.returncode == 0, done.stderr
    text = page.read_text()
    results = json.loads((tmp_path / "r.json").read_text())
    assert f"{results['models']['baseline']['rmse']:.4f}" in text
    assert text.count('src="data:image/png;base64,') == 2
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)


def test_train_and_test_files_score_as_the_split_they_came_from(data, tmp_path):
    assert recsys("split", "--data", str(data), "--split", "random", "--seed", "4",
                  "--out", str(tmp_path)).returncode == 0  # fmt: skip
    by_files = recsys(
        "evaluate",
        "--data",
        str(data),
        "--train",
        str(tmp_path / "random-train.csv"),
        "--test",
        str(tmp_path / "random-test.csv"),
        "--model",
        "baseline",
        "--no-ranking",
        "--json",
        str(tmp_path / "files.json"),
    )
    assert by_files.returncode == 0, by_files.stderr
    by_name = recsys(
        "evaluate",
        "--data",
        str(data),
        "--split",
        "random",
        "--seed",
        "4",
        "--model",
        "baseline",
        "--no-ranking",
        "--json",
        str(tmp_path / "name.json"),
    )
    assert by_name.returncode == 0, by_name.stderr
    files, name = (json.loads((tmp_path / f).read_text()) for f in ("files.json", "name.json"))
    assert files["split"]["n_test"] == name["split"]["n_test"]
    assert files["models"]["baseline"]["rmse"] == pytest.approx(name["models"]["baseline"]["rmse"])


def test_repeat_reports_mean_std_and_a_paired_test(data, tmp_path):
    done = recsys(
        "evaluate",
        "--data",
        str(data),
        "--split",
        "random",
        "--repeat",
        "3",
        "--model",
        "global-mean,baseline",
        "--no-ranking",
        "--json",
        str(tmp_path / "runs.json"),
        "--report",
        str(tmp_path / "r.html"),
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"baseline\s+\d\.\d{4} ± \d\.\d{4}", done.stdout)
    assert "paired t-test" in done.stdout
    body = json.loads((tmp_path / "runs.json").read_text())
    assert len(body["runs"]) == 6 and body["paired"][0]["runs"] == 3
    assert "Paired t-tests" in (tmp_path / "r.html").read_text()


def test_an_error_after_a_progress_bar_starts_gets_its_own_line(tmp_path):
    assert recsys("synth", str(tmp_path / "nf"), "--ratings", "2000").returncode == 0
    (tmp_path / "nf" / "probe.txt").unlink(missing_ok=True)  # a bar runs, then the error
    done = recsys("split", "--data", str(tmp_path / "nf"), "--split", "probe",
                  "--out", str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 2 and "probe" in done.stderr
    errors = [p for p in re.split(r"[\r\n]", done.stderr) if "recsys: error:" in p]
    assert errors and all(p.startswith("recsys: error: ") for p in errors), done.stderr


def test_train_replaces_an_artifact_but_never_a_folder_of_other_files(tmp_path):
    """--out names the artifact's folder: an earlier artifact there is replaced whole, but a
    folder holding anything else (or the current folder) is refused before any training, and
    nothing in it is touched."""
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "sub" / "notes.txt").write_text("keep")
    own = [sys.executable, "-m", "recsys.cli", "train", "--data", "demo", "--model", "popular",
           "--no-evaluate", "--out"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for out, cwd in ((str(mine), ROOT), (".", mine)):
        done = subprocess.run([*own, out], cwd=cwd, capture_output=True, text=True, env=env)
        assert done.returncode == 2, done.stderr
        assert "not a recsys artifact" in done.stderr and "Traceback" not in done.stderr
        assert (mine / "sub" / "notes.txt").read_text() == "keep"
    artifact = tmp_path / "artifact"
    for _ in range(2):  # the second run replaces the first one's artifact
        assert recsys(*own[3:], str(artifact)).returncode == 0
        assert (artifact / "artifact.json").is_file()
