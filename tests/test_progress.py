"""Long library steps report their progress to whoever listens, and to nobody otherwise."""

from __future__ import annotations

import pandas as pd

from recsys.data.interactions import Interactions
from recsys.data.synthetic import synthesize
from recsys.features.closest import closest_raters
from recsys.models.mf import MatrixFactorization
from recsys.progress import advance, reporting


def test_reports_reach_the_listener_only_inside_the_block():
    heard = []
    advance("before", 1)
    with reporting(lambda step, done, total: heard.append((step, done, total))):
        advance("step", 2, 5)
        advance("step", 3, 5)
    advance("after", 1)
    assert heard == [("step", 2, 5), ("step", 3, 5)]


def test_closest_raters_and_mf_report_all_their_work():
    data = synthesize(20_000, seed=1)
    history = Interactions.from_ratings(data.ratings)
    done: dict[str, list] = {}
    with reporting(lambda step, n, total: done.setdefault(step, []).append((n, total))):
        closest_raters(history, history.user, history.item)
        MatrixFactorization(n_factors=4, epochs=3).fit(data)
    targets = done["closest raters (targets)"]
    assert sum(n for n, _ in targets) == len(history) and {t for _, t in targets} == {len(history)}
    epochs = done["mf epochs (ratings)"]
    assert len(epochs) == 3 and sum(n for n, _ in epochs) == 3 * len(history)


def test_reading_netflix_files_reports_its_end(tmp_path):
    from recsys.data.netflix import READING, read_probe, write_probe

    pairs = pd.DataFrame({"user_id": [1, 2, 3], "item_id": [7, 7, 9]})
    write_probe(pairs, tmp_path / "probe.txt")
    heard = []
    with reporting(lambda step, n, total: heard.append((step, n, total))):
        read_probe(tmp_path / "probe.txt")
    size = (tmp_path / "probe.txt").stat().st_size
    assert heard == [(READING, size, None), (READING, 0, 0)]


def test_the_cli_bar_of_unknown_size_closes_at_its_end(capsys):
    from recsys.cli import _ProgressBars

    bars = _ProgressBars()
    bars("reading (bytes)", 11, None)
    bars("reading (bytes)", 4, None)
    assert bars.bars["reading (bytes)"].n == 15
    bars("reading (bytes)", 0, 0)  # finished: the bar stops its clock now
    assert bars.bars == {}
    capsys.readouterr()
    bars("reading (bytes)", 0, 0)  # the end of a step never shown draws nothing
    assert bars.bars == {} and capsys.readouterr().err == ""
