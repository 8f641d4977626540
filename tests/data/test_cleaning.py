"""Cleaning (SPEC §2.3): every row is kept or dropped for exactly one reason, counted exactly;
strict mode stops at the first bad row with its file and line; the dirty MovieLens copy."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from recsys.data.cleaning import REASONS, CleaningReport, clean_ratings, superseded_pairs
from recsys.data.loading import load
from recsys.data.schema import HALF_STARS
from recsys.data.splits import seed1_split
from recsys.errors import BadRowError
from tests.data.test_sources import pack

MOVIES = 'movieId,title,genres\n10,"Heat, The (1995)",Action\n20,Up (2009),Animation\n'
HEADER = "userId,movieId,rating,timestamp\n"

# One file with every reason; the comment gives each row's line and fate.
DIRTY = HEADER + (
    "1,10,4.0,100\n"  # 2 kept
    "1,20,3.5,101\n"  # 3 kept
    ",10,4.0,102\n"  # 4 missing_id (user)
    "2,,4.0,103\n"  # 5 missing_id (movie)
    ",10,99,102\n"  # 6 missing_id, and off the scale too: a problem of both kinds
    "2,abc,4.0,103\n"  # 7 unparsable id
    "2,10.5,4.0,103\n"  # 8 unparsable: an id that is not whole
    "2,10,four,104\n"  # 9 unparsable rating
    "2,10,4.0,104.5\n"  # 10 unparsable: a fractional timestamp
    "2,10,,104\n"  # 11 missing_value (rating)
    "2,20,4.0,\n"  # 12 missing_value (timestamp)
    "2,20,7.0,105\n"  # 13 off_scale (above)
    "2,20,0.0,105\n"  # 14 off_scale (0 is not a rating)
    "2,20,-8,105\n"  # 15 off_scale (below)
    "2,20,4.25,105\n"  # 16 off_scale (between half stars)
    "2,30,4.0,106\n"  # 17 unknown_item
    "3,10,4.0,107,extra\n"  # 18 malformed_line (five fields)
    "3,10,2.0,200\n"  # 19 kept: the latest rating of (3, 10)
    "3,10,5.0,150\n"  # 20 duplicate (earlier)
    "4,20,1.0,300\n"  # 21 duplicate (same time: the later row wins)
    "4,20,1.5,300\n"  # 22 kept
    "5,20.0,3.0,400\n"  # 23 kept: "20.0" is the whole number 20
    "6,20,3.0,1600000000000\n"  # 24 time_off_range: milliseconds, not seconds
)
KEPT = [(1, 10, 4.0, 100), (1, 20, 3.5, 101), (3, 10, 2.0, 200), (4, 20, 1.5, 300),
        (5, 20, 3.0, 400)]  # fmt: skip
DROPPED = {"malformed_line": 1, "missing_id": 3, "unparsable": 4, "missing_value": 2,
           "off_scale": 4, "time_off_range": 1, "unknown_item": 1, "duplicate": 2}  # fmt: skip


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_CACHE_DIR", str(tmp_path / "cache"))


def ml(tmp_path, ratings: str, kind: str = "folder"):
    return pack(tmp_path, {"ratings.csv": ratings, "movies.csv": MOVIES}, kind)


def rows(dataset) -> list[tuple]:
    return [tuple(r) for r in dataset.ratings.itertuples(index=False)]


def test_every_reason_is_counted_exactly(tmp_path, caplog):
    assert set(DROPPED) == set(REASONS)  # the file exercises every reason there is
    with caplog.at_level(logging.INFO, logger="recsys.data.loading"):
        dataset = load(ml(tmp_path, DIRTY), cache=False)
    assert rows(dataset) == KEPT
    report = dataset.report
    assert report.dropped == DROPPED
    assert report.rows_read == 23 and report.rows_kept == 5 and report.rows_dropped == 18
    # Problems count every fault: row 6 is off the scale as well as missing its user, and a
    # pair repeated anywhere counts, whatever else is wrong with its rows: (-, 10) on lines 4
    # and 6, (2, 10) on 9-11, (2, 20) on 12-16, (3, 10) on 19-20, (4, 20) on 21-22 = 1+2+4+1+1.
    assert report.problems == {**DROPPED, "off_scale": 5, "duplicate": 9}
    # Each dropped row once, under its primary reason; the rest of its faults as "also".
    assert report.also == {"off_scale": 1, "duplicate": 7}
    assert report.summary().endswith(
        "read 23 rows, kept 5, dropped 18 (malformed line 1, missing id 3, unparsable 4, "
        "missing value 2, off scale 4, time off range 1, unknown item 1, duplicate 2; of these "
        "also off scale 1, duplicate 7)"
    )
    assert report.to_dict()["also"] == report.also
    assert report.summary() in caplog.text  # logged as one line


STRICT_CASES = [  # (rows after the header, line, reason text)
    ("1,10,4.0,1\n,10,4.0,2\n", 3, "missing user or movie id"),
    ("1,10,4.0,1\n1,x,4.0,2\n", 3, "value that is not a number"),
    ("1,10,,1\n", 2, "missing rating or timestamp"),
    ("1,10,4.0,1\n1,20,5.5,2\n", 3, "rating off the scale"),
    ("1,30,4.0,1\n", 2, "movie absent from the catalogue"),
    ("1,10,4.0,1\n1,10,3.0,2\n", 2, "rated again"),  # the earlier rating is the dropped one
    ("1,10,4.0,1\n1,20,4.0,2,x\n", 3, "Expected 4 fields in line 3, saw 5"),
]


@pytest.mark.parametrize(("body", "line", "reason"), STRICT_CASES)
@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_strict_mode_names_file_line_and_reason(tmp_path, body, line, reason, kind):
    path = ml(tmp_path, HEADER + body, kind)
    with pytest.raises(BadRowError) as error:
        load(path, strict=True)
    assert error.value.line == line
    assert reason in error.value.reason
    name = str(path / "ratings.csv") if kind == "folder" else f"{path}!release/ratings.csv"
    assert error.value.path == name
    assert str(error.value).startswith(f"{name}: line {line}: ")
    assert load(path, cache=False).report.rows_dropped == 1  # lenient mode drops the one row


def test_a_malformed_line_and_a_later_bad_row_are_each_counted(tmp_path):
    body = "1,10,4.0,1\n1,20,4.0,2,x\n1,30,4.0,3\n"
    dataset = load(ml(tmp_path, HEADER + body), cache=False)
    assert dataset.report.dropped == {"malformed_line": 1, "unknown_item": 1}


def test_strict_mode_loads_a_clean_file(tmp_path):
    body = "1,10,4.0,1\n1,20,4.5,2\n"
    assert rows(load(ml(tmp_path, HEADER + body), strict=True)) == [(1, 10, 4.0, 1),
                                                                    (1, 20, 4.5, 2)]  # fmt: skip


def reference_superseded(user, item, timestamp) -> np.ndarray:
    """Brute force: a row is superseded when its pair has a row later in (time, file order)."""
    frame = pd.DataFrame({"u": user, "i": item, "t": timestamp, "row": np.arange(len(user))})
    winners = frame.sort_values(["t", "row"]).groupby(["u", "i"]).tail(1)["row"]
    out = np.ones(len(user), bool)
    out[winners.to_numpy()] = False
    return out


@pytest.mark.parametrize("order", ["by_user", "by_item", "shuffled"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_duplicates_match_a_brute_force_reference(order, seed):
    rng = np.random.default_rng(seed)
    n = 2000
    user, item = rng.integers(0, 40, n), rng.integers(0, 30, n)
    timestamp = rng.integers(0, 50, n)  # many ties
    if order != "shuffled":
        key = user if order == "by_user" else item
        sort = np.argsort(key, kind="stable")
        user, item, timestamp = user[sort], item[sort], timestamp[sort]
    expected = reference_superseded(user, item, timestamp)
    assert expected.sum() > 100
    np.testing.assert_array_equal(superseded_pairs(user, item, timestamp), expected)
    # Large or string ids take another path to the same answer.
    np.testing.assert_array_equal(superseded_pairs(user * 10**12, item, timestamp), expected)
    np.testing.assert_array_equal(
        superseded_pairs(user.astype(str).astype(object), item, timestamp), expected
    )


def test_reports_merge_and_survive_a_dict_round_trip():
    a = CleaningReport(10, {"missing_id": 2}, {"missing_id": 2, "off_scale": 1}, ["a.csv"])
    b = CleaningReport(5, {"missing_id": 1, "duplicate": 1}, {"duplicate": 1}, ["b.csv"])
    merged = a.merge(b)
    assert merged.rows_read == 15 and merged.rows_kept == 11
    assert merged.dropped == {"missing_id": 3, "duplicate": 1}
    assert merged.problems == {"missing_id": 2, "off_scale": 1, "duplicate": 1}
    assert merged.files == ["a.csv", "b.csv"]
    assert CleaningReport.from_dict(merged.to_dict()) == merged


@pytest.mark.real_data
def test_the_dirty_movielens_copy(ml_small_dirty):
    dataset = load(ml_small_dirty, cache=False)
    report = dataset.report
    assert report.rows_read == 100_836
    assert report.dropped == {"missing_id": 1_804}
    assert report.rows_kept == len(dataset.ratings) == 99_032
    assert report.problems == {"missing_id": 1_804, "off_scale": 568, "duplicate": 693}
    assert report.also == {"off_scale": 568, "duplicate": 693}
    assert report.summary().endswith(
        "read 100,836 rows, kept 99,032, dropped 1,804 (missing id 1,804; of these also "
        "off scale 568, duplicate 693)"
    )
    # The seed's own cleaning keeps the very same rows, in the same order.
    raw = pd.read_csv(ml_small_dirty / "ratings.csv").drop_duplicates()
    seed = raw[(raw["rating"] > 0) & (raw["rating"] <= 5)].dropna()
    r = dataset.ratings
    np.testing.assert_array_equal(r["user_id"].to_numpy(), seed["userId"].to_numpy())
    np.testing.assert_array_equal(r["item_id"].to_numpy(), seed["movieId"].to_numpy())
    np.testing.assert_array_equal(r["rating"].to_numpy(), seed["rating"].to_numpy(np.float32))
    np.testing.assert_array_equal(r["timestamp"].to_numpy(), seed["timestamp"].to_numpy())
    # ... and so the seed's split, row for row.
    split = seed1_split(r)
    assert (len(split.train), len(split.test)) == (89_128, 9_904)
    shuffled = seed.sample(frac=1, random_state=42)
    np.testing.assert_array_equal(
        split.train["timestamp"].to_numpy(), shuffled["timestamp"].to_numpy()[:89_128]
    )
    np.testing.assert_array_equal(
        split.test["user_id"].to_numpy(), shuffled["userId"].to_numpy()[89_128:]
    )


@pytest.mark.real_data
def test_the_dirty_copy_in_strict_mode_stops_at_its_first_missing_user(ml_small_dirty):
    raw = pd.read_csv(ml_small_dirty / "ratings.csv")
    first = int(np.flatnonzero(raw["userId"].isna().to_numpy())[0])
    with pytest.raises(BadRowError) as error:
        load(ml_small_dirty, strict=True)
    assert error.value.line == first + 2  # the header is line 1
    assert error.value.path == str(ml_small_dirty / "ratings.csv")
    assert error.value.reason.startswith("missing user or movie id (user_id=missing, ")


@pytest.mark.real_data
def test_the_genuine_small_release_is_clean(ml_small):
    dataset = load(ml_small, cache=False)
    assert dataset.report.rows_read == dataset.report.rows_kept == 100_836
    assert dataset.report.problems == {}
    described = dataset.describe()
    assert (described["users"], described["movies_rated"], described["movies_in_catalogue"]) == (
        610, 9_724, 9_742
    )  # fmt: skip


def test_large_columns_are_cleaned_like_a_brute_force_reference():
    """Past the block sizes the cleaning works in (2**20 rows), faults are found everywhere."""
    rng = np.random.default_rng(5)
    n = 1_200_000
    raw = {
        "user_id": rng.integers(0, 50_000, n).astype(np.int32),
        "item_id": rng.integers(1, 2_001, n).astype(np.int32),  # 2,000 is not in the catalogue
        "rating": rng.choice(np.array([0.5, 1, 3.5, 5, 5.5, 2.25], np.float32), n,
                             p=[0.2, 0.3, 0.3, 0.19, 0.005, 0.005]),
        "timestamp": rng.integers(0, 10**9, n),
    }  # fmt: skip
    known = np.arange(1, 2_000)
    ratings, report = clean_ratings(raw, HALF_STARS, source="big", locate=lambda r: ("big", r),
                                    known_items=known)  # fmt: skip
    frame = pd.DataFrame(raw)
    off = ~frame["rating"].isin([0.5, 1, 3.5, 5])
    unknown = ~off & (frame["item_id"] == 2_000)
    valid = frame[~off & ~unknown]
    superseded = reference_superseded(*(valid[c].to_numpy() for c in
                                        ["user_id", "item_id", "timestamp"]))  # fmt: skip
    assert report.dropped == {"off_scale": int(off.sum()), "unknown_item": int(unknown.sum()),
                              "duplicate": int(superseded.sum())}  # fmt: skip
    assert off[2**20 :].sum() > 500 and unknown[2**20 :].sum() > 20  # past the first block
    np.testing.assert_array_equal(ratings["timestamp"].to_numpy(),
                                  valid["timestamp"].to_numpy()[~superseded])  # fmt: skip


LONGER_FIRST_ROW = [  # (files, ratings file): its first data row has one field too many
    ({"ratings.csv": HEADER + "1,10,4.0,100,\n1,20,3.5,101\n2,10,5.0,102\n",
      "movies.csv": MOVIES}, "ratings.csv"),
    ({"my.csv": "user,item,rating,timestamp\n1,10,4.0,100,\n1,20,3.5,101\n2,10,5.0,102\n"},
     "my.csv"),
    ({"u.data": "1\t10\t4\t100\t\n1\t20\t3\t101\n2\t10\t5\t102\n",
      "u.item": "10|Heat (1995)|01-Jan-1995||x" + "|0" * 19 + "\n"
                "20|Up (2009)|01-Jan-2009||x" + "|0" * 19 + "\n"}, "u.data"),
    ({"ratings.dat": "1::10::4::100::\n1::20::3::101\n2::10::5::102\n",
      "movies.dat": "10::Heat (1995)::Action\n20::Up (2009)::Animation\n"}, "ratings.dat"),
]  # fmt: skip


@pytest.mark.parametrize(("files", "name"), LONGER_FIRST_ROW)
def test_a_longer_first_row_is_one_malformed_line_and_the_rest_is_kept(tmp_path, files, name):
    """pandas took such a row for an index column and shifted every column (all rows lost)."""
    path = pack(tmp_path, files, "folder")
    dataset = load(path, cache=False)
    assert dataset.report.dropped == {"malformed_line": 1}
    assert [(u, i) for u, i, _, _ in rows(dataset)] == [(1, 20), (2, 10)]
    assert dataset.ratings["timestamp"].tolist() == [101, 102]
    with pytest.raises(BadRowError) as error:
        load(path, strict=True)
    first = 1 if name in ("u.data", "ratings.dat") else 2
    assert error.value.line == first and error.value.path == str(path / name)


def test_a_trailing_comma_after_blank_lines_is_found_too(tmp_path):
    dataset = load(ml(tmp_path, "\n" + HEADER + "1,10,4.0,100,\n1,20,3.5,101\n"), cache=False)
    assert rows(dataset) == [(1, 20, 3.5, 101)]
    assert dataset.report.dropped == {"malformed_line": 1}


MILLISECONDS = 1_600_000_000_000


@pytest.mark.filterwarnings("error")  # numpy's "invalid value encountered in cast" included
def test_timestamps_that_are_no_times_are_counted_not_kept(tmp_path, caplog):
    body = (
        f"1,10,4.0,{MILLISECONDS}\n"  # 2 time_off_range: milliseconds, not seconds
        "1,20,4.0,inf\n"  # 3 unparsable
        "2,10,4.0,-inf\n"  # 4 unparsable
        "2,20,4.0,1e30\n"  # 5 time_off_range
        "3,10,4.0,-2208988801\n"  # 6 time_off_range: a second before 1900
        "3,20,4.0,-2208988800\n"  # 7 kept: 1900-01-01
        "4,10,4.0,7258118399\n"  # 8 kept: the last second before 2200
        "4,20,4.0,7258118400\n"  # 9 time_off_range: 2200-01-01 (or 1970 in milliseconds)
        "5,10\n"  # 10 missing_value: a truncated line
    )
    with caplog.at_level(logging.WARNING, logger="recsys.data.cleaning"):
        dataset = load(ml(tmp_path, HEADER + body), cache=False)
    assert rows(dataset) == [(3, 20, 4.0, -2_208_988_800), (4, 10, 4.0, 7_258_118_399)]
    assert dataset.report.dropped == {"unparsable": 2, "missing_value": 1, "time_off_range": 4}
    assert "2 timestamp(s) look like milliseconds" in caplog.text  # lines 2 and 9
    described = dataset.describe()
    assert (described["first_rating"], described["last_rating"]) == ("1900-01-01", "2199-12-31")
    with pytest.raises(BadRowError) as error:
        load(ml(tmp_path, HEADER + body), strict=True)
    assert error.value.line == 2
    assert error.value.reason.startswith(
        "timestamp outside 1900-01-01 to 2200-01-01 (seconds since 1970, UTC); it looks like "
        "milliseconds"
    )


def test_ids_beyond_int64_are_unparsable_never_merged(tmp_path):
    """They were all read as INT64_MIN, one user, and a real rating dropped as a repeat."""
    body = ("99999999999999999999,10,4.0,1\n1,20,3.5,2\n18446744073709551616,10,5.0,3\n"
            "9223372036854775807,20,2.0,4\n")  # fmt: skip
    dataset = load(ml(tmp_path, HEADER + body), cache=False)
    assert rows(dataset) == [(1, 20, 3.5, 2), (2**63 - 1, 20, 2.0, 4)]
    assert dataset.report.dropped == {"unparsable": 2}


@pytest.mark.parametrize(
    ("ids", "kept", "dropped"),
    [  # uint64, as pandas reads ids up to 2**64 - 1, and its nullable form
        (np.array([1, 2**64 - 1, 2**63 - 1], np.uint64), [1, 2**63 - 1], {"unparsable": 1}),
        (pd.array([1, 2**64 - 1, None], dtype="UInt64"), [1],
         {"missing_id": 1, "unparsable": 1}),
    ],
)  # fmt: skip
def test_unsigned_ids_beyond_int64_are_unparsable(ids, kept, dropped):
    raw = {"user_id": [7, 7, 7], "item_id": ids, "rating": [4.0] * 3, "timestamp": [1, 2, 3]}
    ratings, report = clean_ratings(raw, HALF_STARS, source="r", locate=lambda r: ("r", r))
    assert ratings["item_id"].tolist() == kept
    assert report.dropped == dropped


def test_ids_that_lost_digits_as_floats_are_unparsable_never_merged(tmp_path):
    """A missing id makes pandas read the column as float64, which holds 2**53 + 1 as 2**53:
    the two users can no longer be told apart, so neither is kept as the other."""
    body = "9007199254740993,10,4.0,1\n9007199254740992,10,3.0,2\n,20,5.0,3\n1,20,2.0,4\n"
    dataset = load(ml(tmp_path, HEADER + body), cache=False)
    assert rows(dataset) == [(1, 20, 2.0, 4)]
    assert dataset.report.dropped == {"missing_id": 1, "unparsable": 2}
    assert dataset.report.problems == dataset.report.dropped  # and no "duplicate"
    # Written as text, such ids are read digit for digit.
    body = "9007199254740993,10,4.0,1\n9007199254740992,10,3.0,2\nx,20,5.0,3\n"
    dataset = load(ml(tmp_path / "text", HEADER + body), cache=False)
    assert dataset.ratings["user_id"].tolist() == [9007199254740993, 9007199254740992]
    assert dataset.report.dropped == {"unparsable": 1}
