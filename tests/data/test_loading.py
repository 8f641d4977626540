"""`load` (SPEC §2.2-2.3): format detection, clear errors for wrong, empty and truncated input,
and the cache that makes a second load near-instant."""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import pytest

from recsys.data.cleaning import CleaningReport
from recsys.data.dataset import Dataset
from recsys.data.generic import Columns
from recsys.data.loading import cache_dir, detect_format, load, read_cache, write_cache
from recsys.data.schema import HALF_STARS, RatingScale
from recsys.data.sources import Source
from recsys.errors import ConfigError, DataError, DataFormatError
from tests.data.test_sources import gzip_file, pack, write_files

MOVIES = 'movieId,title,genres\n1,"Heat, The (1995)",Action|Crime\n2,Untitled,(no genres listed)\n'
RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,10\n1,2,3.5,11\n2,1,5.0,12\n"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"ratings.csv": RATINGS, "movies.csv": MOVIES, "tags.csv": "x"}, "movielens"),
        ({"u.data": "1\t1\t1\t1\n", "u.item": "x", "u.user": "x"}, "ml-100k"),
        ({"ratings.dat": "1::1::1::1\n", "movies.dat": "x"}, "ml-dat"),
        ({"training_set/mv_0000001.txt": "1:\n", "movie_titles.txt": "x"}, "netflix"),
        ({"combined_data_1.txt": "1:\n", "probe.txt": "1:\n"}, "netflix"),
        ({"download/training_set.tar": b"x"}, "netflix"),
        ({"my_export.txt": "1:\n5,3,2005-01-01\n"}, "netflix"),  # one file of MovieID: blocks
        ({"my_export.txt": "user,item,rating\n"}, "generic"),
        ({"scores.parquet": b"x", "README.md": "x"}, "generic"),
    ],
)
def test_detect_format_from_the_files_present(tmp_path, files, expected):
    assert detect_format(Source(write_files(tmp_path / "d", files))) == expected


def test_detection_works_on_a_gz_of_one_netflix_file(tmp_path):
    assert detect_format(Source(gzip_file(tmp_path, "export.txt", "12:\n1,2,2005-01-01\n"))) == (
        "netflix"
    )


def test_a_folder_of_unknown_files_lists_what_it_found(tmp_path):
    path = write_files(tmp_path / "d", {"a.jpg": b"x", "b.jpg": b"y"})
    with pytest.raises(DataFormatError, match=r"no rating files recsys knows.*a\.jpg, b\.jpg"):
        load(path)


@pytest.mark.parametrize(
    "files",
    [{"a/ratings.csv": RATINGS, "a/movies.csv": MOVIES, "b/ratings.csv": RATINGS,
      "b/movies.csv": MOVIES},
     {"a/ratings.csv": RATINGS, "b/movies.csv": MOVIES}],
)  # fmt: skip
def test_a_folder_of_two_data_sets_names_them_instead_of_reading_one(tmp_path, files):
    path = write_files(tmp_path / "d", files)
    with pytest.raises(DataFormatError, match="name the folder of one data set") as refused:
        load(path, cache=False)
    assert "a/ratings.csv" in str(refused.value) and "b/" in str(refused.value)
    assert len(load(path / "a", cache=False).ratings) > 0  # one data set: read


def test_an_unknown_format_name_is_refused(tmp_path):
    path = write_files(tmp_path / "d", {"ratings.csv": RATINGS, "movies.csv": MOVIES})
    with pytest.raises(DataFormatError, match="unknown format 'csv'; choose from movielens"):
        load(path, format="csv")


@pytest.mark.parametrize(
    ("files", "bad", "message"),
    [
        ({"ratings.csv": "", "movies.csv": MOVIES}, "ratings.csv", "is empty"),
        ({"ratings.csv": " \n", "movies.csv": MOVIES}, "ratings.csv", "is empty"),
        ({"ratings.csv": RATINGS, "movies.csv": ""}, "movies.csv", "is empty"),
        ({"ratings.csv": RATINGS, "movies.csv": "movieId,title,genres\nx,A,B\n"}, "movies.csv",
         "movie id 'x' is not a number"),
        ({"ratings.csv": b"\xff\xfe\x00b\x00a\x00d", "movies.csv": MOVIES}, "ratings.csv",
         "cannot be parsed as a table|not in the expected format"),
        ({"u.data": "1\t1\t1\t1\n", "u.item": ""}, "u.item", "is empty"),
        ({"ratings.dat": "", "movies.dat": "1::A (1999)::Drama\n"}, "ratings.dat", "is empty"),
        ({"combined_data_1.txt": ""}, "combined_data_1.txt", "is empty"),
        ({"my.csv": ""}, "my.csv", "is empty"),
    ],
)  # fmt: skip
def test_empty_and_wrong_files_are_data_errors_naming_the_file(tmp_path, files, bad, message):
    path = write_files(tmp_path / "d", files)
    with pytest.raises(DataFormatError, match=message) as error:
        load(path, cache=False)
    assert error.value.path == str(path / bad)
    assert str(error.value).startswith(str(path / bad))


@pytest.mark.parametrize("name", ["ml-latest-small.zip", "ml-latest-small.tar.gz"])
def test_a_truncated_release_archive_is_a_data_error(tmp_path, name):
    kind = name.split(".", 1)[1]
    noise = np.random.default_rng(0).integers(0, 10**6, 30_000)
    body = RATINGS + "".join(f"1,1,4.0,{t}\n" for t in noise)
    whole = pack(tmp_path, {"ratings.csv": body, "movies.csv": MOVIES}, kind, "ml-latest-small")
    cut = tmp_path / "cut" / name
    cut.parent.mkdir()
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    with pytest.raises(DataError, match="truncated or corrupt") as error:
        load(cut)
    assert str(cut) in str(error.value)


def equal_datasets(a: Dataset, b: Dataset) -> None:
    pd.testing.assert_frame_equal(a.ratings, b.ratings)
    pd.testing.assert_frame_equal(a.movies, b.movies)
    assert a.scale == b.scale and a.report == b.report and a.name == b.name


def test_a_second_load_is_served_from_the_cache(tmp_path, caplog):
    path = write_files(tmp_path / "ml", {"ratings.csv": RATINGS, "movies.csv": MOVIES})
    assert cache_dir() == tmp_path / "cache"
    first = load(path)
    cached = list((tmp_path / "cache").glob("ml-*.npz"))
    assert len(cached) == 1
    with caplog.at_level(logging.INFO, logger="recsys.data.loading"):
        second = load(path)
    assert f"(from cache {cached[0]})" in caplog.text
    equal_datasets(first, second)
    # The evidence that the cache, not the source, answered: a cache edited behind recsys'
    # back is what the next load returns.
    edited = first.with_ratings(first.ratings.assign(rating=np.float32(1.0)))
    write_cache(edited, cached[0])
    assert load(path).ratings["rating"].tolist() == [1.0, 1.0, 1.0]
    assert load(path, cache=False).ratings["rating"].tolist() == [4.0, 3.5, 5.0]


def test_a_cached_data_set_is_named_by_the_path_it_was_loaded_from(tmp_path, monkeypatch):
    path = write_files(tmp_path / "ml", {"ratings.csv": RATINGS, "movies.csv": MOVIES})
    assert load(path).name == str(path)
    monkeypatch.chdir(tmp_path)
    again = load("ml")  # the same files, so the same cache entry
    assert again.name == "ml"
    assert len(list((tmp_path / "cache").glob("ml-*.npz"))) == 1


def test_a_changed_source_file_invalidates_the_cache(tmp_path):
    path = write_files(tmp_path / "ml", {"ratings.csv": RATINGS, "movies.csv": MOVIES})
    assert load(path).n_ratings == 3
    ratings = path / "ratings.csv"
    ratings.write_text(RATINGS + "3,2,2.0,13\n")
    assert load(path).n_ratings == 4
    # Same size, new content: the modification time tells.
    ratings.write_text(RATINGS + "3,2,1.0,13\n")
    stat = ratings.stat()
    os.utime(ratings, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert load(path).ratings["rating"].tolist()[-1] == 1.0
    assert len(list((tmp_path / "cache").glob("ml-*.npz"))) == 3


def test_no_cache_is_written_without_cache_or_in_strict_mode(tmp_path):
    path = write_files(tmp_path / "ml", {"ratings.csv": RATINGS, "movies.csv": MOVIES})
    load(path, cache=False)
    load(path, strict=True)
    assert not (tmp_path / "cache").exists()


def test_an_unreadable_cache_is_ignored_and_rewritten(tmp_path, caplog):
    path = write_files(tmp_path / "ml", {"ratings.csv": RATINGS, "movies.csv": MOVIES})
    first = load(path)
    (cached,) = (tmp_path / "cache").glob("*.npz")
    cached.write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING, logger="recsys.data.loading"):
        again = load(path)
    assert "ignoring unreadable cache" in caplog.text
    equal_datasets(first, again)
    equal_datasets(first, read_cache(cached))


def test_the_cache_keeps_every_column_as_it_was(tmp_path):
    movies = pd.DataFrame({"item_id": ["m1", "m2"], "title": [None, "Café, Le"],
                           "year": pd.array([None, 1999], dtype="Int32"),
                           "genres": [[], ["Drama", "Film-Noir"]]})  # fmt: skip
    ratings = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["m1", "m2"],
                            "rating": np.array([1.5, 5], np.float32),
                            "timestamp": np.array([-5, 2**40], np.int64)})  # fmt: skip
    report = CleaningReport(3, {"duplicate": 1}, {"duplicate": 1}, ["r.csv"])
    dataset = Dataset(ratings, movies, HALF_STARS, report, "strings")
    write_cache(dataset, tmp_path / "c.npz")
    back = read_cache(tmp_path / "c.npz")
    assert back.ratings["user_id"].tolist() == ["u1", "u2"]
    assert back.ratings["timestamp"].tolist() == [-5, 2**40]
    assert back.ratings["rating"].dtype == np.float32
    assert pd.isna(back.movies["title"].iloc[0]) and back.movies["title"].iloc[1] == "Café, Le"
    assert pd.isna(back.movies["year"].iloc[0]) and back.movies["year"].iloc[1] == 1999
    assert back.movies["genres"].tolist() == [[], ["Drama", "Film-Noir"]]
    assert back.report == report and back.scale == HALF_STARS and back.name == "strings"
    with np.load(tmp_path / "c.npz", allow_pickle=False) as z:  # no pickles inside
        assert all(z[k].dtype != object for k in z.files)


@pytest.mark.real_data
def test_the_real_release_through_the_cache(ml_small, tmp_path):
    first = load(ml_small)
    assert len(list((tmp_path / "cache").glob("ml-latest-small-*.npz"))) == 1
    second = load(ml_small)
    equal_datasets(first, second)
    assert first.fingerprint == second.fingerprint


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"ratings.csv": RATINGS, "movies.csv": MOVIES, "README.txt": "x"}, "movielens"),
        ({"ratings.csv": RATINGS, "README.txt": "x", "__MACOSX/._ratings.csv": b"\0"}, "generic"),
        ({"u.data": "1\t1\t1\t1\n", "u.item": "x", "README": "x"}, "ml-100k"),
        ({"combined_data_1.txt": "1:\n", "README.txt": "x", "._movie_titles.csv": b"\0"},
         "netflix"),
        ({"my_export.txt": "1:\n5,3,2005-01-01\n", "README.txt": "x", "._my_export.txt": b"\0"},
         "netflix"),
    ],
)  # fmt: skip
def test_notes_and_macos_forks_do_not_change_the_format(tmp_path, files, expected):
    assert detect_format(Source(write_files(tmp_path / "d", files))) == expected


def test_columns_make_the_source_a_generic_table(tmp_path):
    """They were silently ignored unless the source was detected as generic."""
    ten = "userId,movieId,rating,timestamp\n1,1,8,10\n1,2,10,11\n2,1,3,12\n"
    path = write_files(tmp_path / "ml", {"ratings.csv": ten, "movies.csv": MOVIES})
    columns = Columns(scale=RatingScale(1, 10, 1))
    with pytest.raises(DataFormatError, match="exactly one rating table"):  # as --scale does
        load(path, columns=columns, cache=False)
    with pytest.raises(ConfigError, match="columns apply to a generic table; format 'movielens'"):
        load(path, format="movielens", columns=columns, cache=False)
    (path / "movies.csv").unlink()
    dataset = load(path, columns=columns, cache=False)
    assert dataset.ratings["rating"].tolist() == [8, 10, 3] and dataset.scale == columns.scale


def test_dropped_rows_are_said_at_warning_level_and_a_clean_load_at_info(tmp_path, caplog):
    """`recsys -q` shows warnings only: a load that dropped rows must still say so."""
    dirty = RATINGS + "3,1,9.0,13\n"  # off the scale
    for ratings, level in ((RATINGS, logging.INFO), (dirty, logging.WARNING)):
        path = write_files(tmp_path / str(level), {"ratings.csv": ratings, "movies.csv": MOVIES})
        for _ in range(2):  # read, then from the cache
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="recsys.data.loading"):
                load(path)
            (record,) = [r for r in caplog.records if "read 4 rows" in r.message
                         or "read 3 rows" in r.message]  # fmt: skip
            assert record.levelno == level
