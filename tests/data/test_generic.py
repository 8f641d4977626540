"""Generic rating tables (SPEC §2.1): CSV, TSV and Parquet, columns found by their usual names
or named by the caller, ids kept as they are, dates turned into seconds."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from recsys.data.generic import Columns
from recsys.data.loading import detect_format, load
from recsys.data.schema import WHOLE_STARS
from recsys.data.sources import Source
from recsys.errors import BadRowError, DataFormatError
from tests.data.test_sources import ARCHIVES, gzip_file, pack


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_CACHE_DIR", str(tmp_path / "cache"))


def rows(dataset) -> list[tuple]:
    return [tuple(r) for r in dataset.ratings.itertuples(index=False)]


CSV = "user,item,rating,timestamp\n7,100,4.5,1000\n8,100,3,1001\n7,200,0.5,1002\n"
CSV_ROWS = [(7, 100, 4.5, 1000), (8, 100, 3.0, 1001), (7, 200, 0.5, 1002)]


@pytest.mark.parametrize("kind", ARCHIVES)
def test_a_csv_from_a_folder_or_an_archive(tmp_path, kind):
    path = pack(tmp_path, {"my_ratings.csv": CSV, "notes.md": "x"}, kind)
    assert detect_format(Source(path)) == "generic"
    dataset = load(path, cache=False)
    assert rows(dataset) == CSV_ROWS
    assert dataset.ratings["user_id"].dtype.kind == "i"
    assert dataset.movies["item_id"].tolist() == [100, 200]  # a catalogue of the ids
    assert dataset.movies["title"].isna().all()


def test_a_plain_or_gzipped_file(tmp_path):
    (tmp_path / "plain.csv").write_text(CSV)
    assert rows(load(tmp_path / "plain.csv", cache=False)) == CSV_ROWS
    assert rows(load(gzip_file(tmp_path, "zipped.csv", CSV), cache=False)) == CSV_ROWS


@pytest.mark.parametrize(
    ("header", "sep"),
    [
        ("userId,movieId,rating,timestamp", ","),
        ("customer_id\tmovie_id\tscore\tts", "\t"),
        ("uid,iid,stars,time", ","),
        ("CustomerID,MovieID,Rating,Date", ","),
        ("user_id\titem_id\trating", "\t"),  # no timestamp: every one is 0
    ],
)
def test_columns_are_found_by_their_usual_names(tmp_path, header, sep):
    with_time = header.count(sep) == 3
    body = "".join(f"{u}{sep}{i}{sep}{r}" + (f"{sep}{t}" if with_time else "") + "\n"
                   for u, i, r, t in CSV_ROWS)  # fmt: skip
    path = tmp_path / ("r.tsv" if sep == "\t" else "r.csv")
    path.write_text(header + "\n" + body)
    got = rows(load(path, cache=False))
    assert got == [(u, i, r, t if with_time else 0) for u, i, r, t in CSV_ROWS]


def test_columns_named_by_the_caller_and_a_scale(tmp_path):
    (tmp_path / "r.tsv").write_text(
        "who\twhat\thow_much\twhen\tuser\nA\tx\t5\t9\t?\nB\tx\t6\t9\t?\n"
    )
    columns = Columns(user="who", item="what", rating="how_much", timestamp="when",
                      scale=WHOLE_STARS)  # fmt: skip
    dataset = load(tmp_path / "r.tsv", format="generic", columns=columns, cache=False)
    assert rows(dataset) == [("A", "x", 5.0, 9)]
    assert dataset.report.dropped == {"off_scale": 1}
    assert dataset.scale == WHOLE_STARS


def test_string_ids_and_dates(tmp_path):
    (tmp_path / "r.tsv").write_text(
        "customer_id\tmovie\tscore\tdate\n"
        "u1\tm1\t4\t2005-09-06\n"
        "u2\tm1\t3.5\t2005-09-07 12:00:00\n"
        "u3\tm2\t5\tnot a date\n"
        "\tm2\t5\t2005-01-01\n"
    )
    dataset = load(tmp_path / "r.tsv", cache=False)
    midnight = int(pd.Timestamp("2005-09-06", tz="UTC").timestamp())
    noon_next_day = midnight + 36 * 3600
    assert rows(dataset) == [("u1", "m1", 4.0, midnight), ("u2", "m1", 3.5, noon_next_day)]
    assert dataset.report.dropped == {"missing_id": 1, "unparsable": 1}
    assert dataset.ratings["timestamp"].dtype == np.int64


def test_a_few_bad_times_among_numbers_are_dropped_alone(tmp_path):
    """Seconds with some values that are no number: those rows are unparsable, the others
    stay (read as dates instead, every row was lost)."""
    lines = [f"{u},{i},4,{1_000_000_000 + u * 60 + i}" for u in range(1, 5) for i in range(1, 6)]
    lines[3] = lines[3].rsplit(",", 1)[0] + ",N/A?"
    (tmp_path / "r.csv").write_text("user,item,rating,timestamp\n" + "\n".join(lines) + "\n")
    dataset = load(tmp_path / "r.csv", cache=False)
    assert len(dataset.ratings) == 19 and dataset.report.dropped == {"unparsable": 1}


@pytest.mark.parametrize("kind", ["folder", "zip", "tar.gz", "file"])
def test_parquet(tmp_path, kind):
    frame = pd.DataFrame({"userId": np.array([1, 2, 2], np.int64), "movieId": [5, 6, 6],
                          "rating": [1.0, 2.0, 3.0], "timestamp": [1, 2, 3]})  # fmt: skip
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    if kind == "file":
        path = tmp_path / "ratings.parquet"
        path.write_bytes(buffer.getvalue())
    else:
        path = pack(tmp_path, {"ratings.parquet": buffer.getvalue()}, kind)
    dataset = load(path, cache=False)
    assert rows(dataset) == [(1, 5, 1.0, 1), (2, 6, 3.0, 3)]  # (2, 6) again, later: it wins
    assert dataset.report.dropped == {"duplicate": 1}


def test_a_broken_parquet_file_is_an_error_naming_it(tmp_path):
    (tmp_path / "r.parquet").write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(DataFormatError, match="is not a readable Parquet file") as error:
        load(tmp_path / "r.parquet", cache=False)
    assert error.value.path == str(tmp_path / "r.parquet")


def test_a_table_without_a_rating_column_says_what_it_looked_for(tmp_path):
    (tmp_path / "r.csv").write_text("user,item,grade\n1,2,3\n")
    with pytest.raises(DataFormatError, match=r"no rating column .*found user, item, grade"):
        load(tmp_path / "r.csv", cache=False)
    with pytest.raises(DataFormatError, match="no timestamp column 'when'"):
        load(tmp_path / "r.csv", format="generic", cache=False,
             columns=Columns(rating="grade", timestamp="when"))  # fmt: skip


def test_a_folder_with_two_tables_is_ambiguous(tmp_path):
    path = pack(tmp_path, {"a.csv": CSV, "b.csv": CSV}, "folder")
    with pytest.raises(DataFormatError, match="exactly one rating table"):
        load(path, format="generic", cache=False)


def test_strict_mode_names_the_line(tmp_path):
    (tmp_path / "r.csv").write_text(CSV + "9,300,11,1003\n")
    with pytest.raises(BadRowError) as error:
        load(tmp_path / "r.csv", strict=True)
    assert error.value.line == 5 and error.value.path == str(tmp_path / "r.csv")
    assert "rating off the scale" in error.value.reason


def test_parquet_with_nullable_integer_columns_counts_its_gaps(tmp_path):
    """Int64 columns with nulls were taken for plain integers: null ids kept, ids as floats."""
    pd.DataFrame({
        "user_id": pd.array([1, 2, 3, None], dtype="Int64"),
        "item_id": pd.array([10, None, 12, 13], dtype="UInt32"),
        "rating": pd.array([4, 3, 2, 1], dtype="Int8"),
        "timestamp": pd.array([1_600_000_000, 1_600_000_001, None, 1_600_000_003], dtype="Int64"),
    }).to_parquet(tmp_path / "r.parquet")  # fmt: skip
    dataset = load(tmp_path / "r.parquet", cache=False)
    assert rows(dataset) == [(1, 10, 4.0, 1_600_000_000)]
    assert dataset.ratings["item_id"].dtype.kind == "i"
    assert dataset.report.dropped == {"missing_id": 2, "missing_value": 1}


def test_ids_beyond_int64_are_kept_as_the_text_they_are(tmp_path):
    """A generic table keeps ids as strings when they are not all int64 numbers."""
    (tmp_path / "r.csv").write_text(
        "user,item,rating\n99999999999999999999,1,4\n99999999999999999998,1,3\n7,1,2\n"
    )
    dataset = load(tmp_path / "r.csv", cache=False)
    assert dataset.ratings["user_id"].tolist() == [
        "99999999999999999999", "99999999999999999998", "7"
    ]  # fmt: skip
    assert dataset.report.dropped == {}


@pytest.mark.parametrize("kind", ARCHIVES)
@pytest.mark.parametrize(
    "extra",
    [
        {"README.txt": "downloaded from somewhere\n"},
        {"notes.txt": "a,b\n1,2\n", "LICENSE.txt": "CC0\n"},
        {"__MACOSX/._data.csv": b"\x00\x05\x16\x07junk", "._data.csv": b"\x00\x05\x16\x07"},
        {".hidden/old.csv": CSV},
    ],
)
def test_notes_and_hidden_files_beside_one_table_are_ignored(tmp_path, kind, extra):
    for name in ("data.csv", "ratings.csv"):  # a lone ratings.csv is a generic table too
        path = pack(tmp_path, {name: CSV, **extra}, kind, top=name.split(".")[0])
        assert detect_format(Source(path)) == "generic"
        assert rows(load(path, cache=False)) == CSV_ROWS


def test_a_table_named_like_notes_is_read_when_it_is_the_only_one(tmp_path):
    path = pack(tmp_path, {"notes.txt": CSV, "README.md": "x"}, "folder")
    assert rows(load(path, cache=False)) == CSV_ROWS
