"""Netflix Prize files (SPEC §2.1): the original per-movie layout, the Kaggle combined files,
movie_titles, probe and qualifying, from folders and archives; and write_netflix round trips."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pandas as pd
import pytest

from recsys.data.dataset import Dataset
from recsys.data.frames import movies_frame, ratings_frame
from recsys.data.loading import detect_format, load
from recsys.data.netflix import (
    read_netflix,
    read_probe,
    read_qualifying,
    read_titles,
    write_netflix,
)
from recsys.data.schema import WHOLE_STARS
from recsys.data.sources import Source
from recsys.data.synthetic import synthesize
from recsys.errors import BadRowError, DataFormatError
from tests.data.test_sources import ARCHIVES, gzip_file, pack


def day(date: str) -> int:
    """A Netflix date as recsys stores it: its midnight UTC, in seconds."""
    return int(pd.Timestamp(date, tz="UTC").timestamp())


TITLES = (
    "1,2003,Dinosaur Planet\n"
    "2,2004,Isle of Man TT 2004 Review\n"
    "3,NULL,Ancient Civilizations: Rome, Greece & Egypt\n"
    "4,1994,Les Misérables, Part II, the Return\n"
).encode("latin-1")
MV1 = "1:\n1488844,3,2005-09-06\n822109,5,2005-05-13\n885013,4,2005-10-19\n"
MV2 = "2:\n2059652,4,2005-09-05\n1488844,1,2000-01-20\n"
MV4 = "4:\r\n30878,2,1999-12-31\r\n"  # Windows line ends are read too
ORIGINAL = {
    "training_set/mv_0000001.txt": MV1,
    "training_set/mv_0000002.txt": MV2,
    "training_set/mv_0000004.txt": MV4,
    "movie_titles.txt": TITLES,
}
EXPECTED = [  # (user, movie, rating, date) in reading order
    (1488844, 1, 3, "2005-09-06"), (822109, 1, 5, "2005-05-13"), (885013, 1, 4, "2005-10-19"),
    (2059652, 2, 4, "2005-09-05"), (1488844, 2, 1, "2000-01-20"), (30878, 4, 2, "1999-12-31"),
]  # fmt: skip


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_CACHE_DIR", str(tmp_path / "cache"))


def rows(dataset) -> list[tuple]:
    r = dataset.ratings
    return list(zip(r["user_id"].tolist(), r["item_id"].tolist(), r["rating"].tolist(),
                    r["timestamp"].tolist(), strict=True))  # fmt: skip


def expected_rows(expected=EXPECTED) -> list[tuple]:
    return [(u, m, float(s), day(d)) for u, m, s, d in expected]


def check_titles(movies: pd.DataFrame) -> None:
    m = movies.set_index("item_id")
    assert m.loc[3, "title"] == "Ancient Civilizations: Rome, Greece & Egypt"
    assert m.loc[4, "title"] == "Les Misérables, Part II, the Return"  # latin-1, two commas
    assert m.loc[1, "year"] == 2003 and m.loc[4, "year"] == 1994
    assert pd.isna(m.loc[3, "year"])  # NULL
    assert str(movies["year"].dtype) == "Int32"


@pytest.mark.parametrize("kind", ARCHIVES)
def test_original_layout_from_a_folder_or_an_archive(tmp_path, kind):
    path = pack(tmp_path, ORIGINAL, kind, top="download")
    assert detect_format(Source(path)) == "netflix"
    dataset = load(path, cache=False)
    assert rows(dataset) == expected_rows()
    assert dataset.ratings["rating"].dtype == np.float32
    assert dataset.ratings["timestamp"].dtype == np.int64
    assert dataset.scale == WHOLE_STARS
    assert dataset.report.rows_read == 6 and dataset.report.dropped == {}
    check_titles(dataset.movies)


def test_training_set_tar_inside_the_download_folder(tmp_path):
    tar = tmp_path / "download" / "training_set.tar"
    tar.parent.mkdir()
    with tarfile.open(tar, "w") as archive:
        for name in ("mv_0000001.txt", "mv_0000002.txt", "mv_0000004.txt"):
            data = ORIGINAL[f"training_set/{name}"].encode()
            info = tarfile.TarInfo(f"training_set/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    (tmp_path / "download" / "movie_titles.txt").write_bytes(TITLES)
    dataset = load(tmp_path / "download", cache=False)
    assert rows(dataset) == expected_rows()
    check_titles(dataset.movies)


COMBINED_1 = MV1 + MV2
COMBINED_2 = MV4 + "3:\n6,3,2004-02-29\n"  # a leap day


KAGGLE = {"combined_data_2.txt": COMBINED_2, "combined_data_1.txt": COMBINED_1,
          "movie_titles.csv": TITLES}  # fmt: skip
KAGGLE_ROWS = expected_rows([*EXPECTED, (6, 3, 3, "2004-02-29")])


@pytest.mark.parametrize("kind", ARCHIVES)
def test_kaggle_combined_files_from_a_folder_or_an_archive(tmp_path, kind):
    dataset = load(pack(tmp_path, KAGGLE, kind, top="netflix-prize-data"), cache=False)
    assert sorted(rows(dataset)) == sorted(KAGGLE_ROWS)
    assert dataset.report.rows_kept == 7
    check_titles(dataset.movies)


@pytest.mark.parametrize("kind", ARCHIVES)
def test_kaggle_combined_files_are_read_in_numeric_order(tmp_path, kind):
    # KAGGLE lists combined_data_2.txt first, so archives store it first (a tarball is streamed
    # in that order): the rows still come in the order combined_data_1, _2.
    dataset = load(pack(tmp_path, KAGGLE, kind, top="netflix-prize-data"), cache=False)
    assert rows(dataset) == KAGGLE_ROWS


def test_per_movie_files_stored_out_of_order_in_a_tarball_are_read_in_movie_order(tmp_path):
    shuffled = dict(reversed(list(ORIGINAL.items())))  # mv_0000004 stored first
    dataset = load(pack(tmp_path, shuffled, "tar.gz", top="download"), cache=False)
    assert rows(dataset) == expected_rows()


def test_one_gzipped_combined_file_without_titles_gets_a_catalogue_of_ids(tmp_path):
    path = gzip_file(tmp_path, "combined_data_1.txt", COMBINED_1)
    dataset = load(path, cache=False)
    assert rows(dataset) == expected_rows(EXPECTED[:5])
    assert dataset.movies["item_id"].tolist() == [1, 2]
    assert dataset.movies["title"].isna().all()


def test_movie_titles_split_on_the_first_two_commas_only():
    movies = read_titles(TITLES + b"\n5,,Untitled, Again\r\n", "movie_titles.txt")
    assert movies["item_id"].tolist() == [1, 2, 3, 4, 5]
    check_titles(movies)
    assert movies["title"].iloc[4] == "Untitled, Again" and pd.isna(movies["year"].iloc[4])
    with pytest.raises(DataFormatError, match="line 2: expected 'MovieID,YearOfRelease,Title'"):
        read_titles(b"1,2003,Fine\nno commas here\n", "movie_titles.txt")


PROBE = "1:\n30878\n2647871\n\n2:\n1283744\n"
QUALIFYING = "1:\n1046323,2005-12-19\n1080030,2005-12-23\n10:\n12345,2004-02-29\n"


@pytest.mark.parametrize("kind", ["folder", "zip", "tar.gz", "file", "gz"])
def test_probe_and_qualifying(tmp_path, kind):
    if kind == "file":
        (tmp_path / "probe.txt").write_text(PROBE)
        (tmp_path / "q").mkdir()
        (tmp_path / "q" / "qualifying.txt").write_text(QUALIFYING)
        probe_path, qualifying_path = tmp_path / "probe.txt", tmp_path / "q" / "qualifying.txt"
    elif kind == "gz":
        probe_path = gzip_file(tmp_path, "probe.txt", PROBE)
        qualifying_path = gzip_file(tmp_path, "qualifying.txt", QUALIFYING)
    else:
        probe_path = qualifying_path = pack(
            tmp_path, {"probe.txt": PROBE, "qualifying.txt": QUALIFYING, "README": "x"}, kind
        )
    probe = read_probe(probe_path)
    assert list(probe.columns) == ["user_id", "item_id"]
    assert probe.values.tolist() == [[30878, 1], [2647871, 1], [1283744, 2]]
    qualifying = read_qualifying(qualifying_path)
    assert list(qualifying.columns) == ["user_id", "item_id", "timestamp"]
    assert qualifying.values.tolist() == [
        [1046323, 1, day("2005-12-19")], [1080030, 1, day("2005-12-23")],
        [12345, 10, day("2004-02-29")],
    ]  # fmt: skip


def test_probe_in_strict_mode_names_the_bad_line(tmp_path):
    (tmp_path / "probe.txt").write_text("1:\n30878\n12,x\n")
    assert read_probe(tmp_path / "probe.txt").values.tolist() == [[30878, 1]]
    with pytest.raises(BadRowError) as error:
        read_probe(tmp_path / "probe.txt", strict=True)
    assert error.value.line == 3 and error.value.path == str(tmp_path / "probe.txt")


DIRTY = (
    "1:\n"
    "10,3,2005-01-01\n"  # line 2: kept
    "11,3\n"  # line 3: malformed (two fields)
    "12,x,2005-01-01\n"  # line 4: malformed (not a number)
    "13,4,2005-02-30\n"  # line 5: malformed (no such date)
    "14,6,2005-01-01\n"  # line 6: off the scale
    "15,0,2005-01-01\n"  # line 7: off the scale
    "10,5,2005-03-01\n"  # line 8: 10 again, later: wins over line 2
    "x:\n"  # line 9: malformed header
    "16,2,2005-01-01\n"  # line 10: malformed (no valid header above)
    "9:\n"
    "17,2,2005-01-01\n"  # line 12: movie 9 is not in the titles
    "2:\n"
    "18,1,2005-01-01\n"  # line 14: kept
)


def test_dirty_netflix_rows_are_counted_per_reason(tmp_path):
    files = {"combined_data_1.txt": DIRTY, "movie_titles.csv": TITLES}
    dataset = load(pack(tmp_path, files, "folder"), cache=False)
    assert rows(dataset) == [(10, 1, 5.0, day("2005-03-01")), (18, 2, 1.0, day("2005-01-01"))]
    report = dataset.report
    assert report.dropped == {"malformed_line": 5, "off_scale": 2, "unknown_item": 1,
                              "duplicate": 1}  # fmt: skip
    assert report.rows_read == 11 and report.rows_kept == 2


def test_dirty_netflix_in_strict_mode_stops_at_the_first_bad_line(tmp_path):
    path = pack(tmp_path, {"combined_data_1.txt": DIRTY, "movie_titles.csv": TITLES}, "folder")
    with pytest.raises(BadRowError) as error:
        load(path, strict=True)
    assert error.value.line == 3 and "malformed line" in error.value.reason
    assert error.value.path == str(path / "combined_data_1.txt")
    clean_then_off = "1:\n10,3,2005-01-01\n\n11,6,2005-01-01\n"
    path = pack(tmp_path, {"combined_data_1.txt": clean_then_off}, "zip", top="b")
    with pytest.raises(BadRowError) as error:
        load(path, strict=True)
    assert error.value.line == 4 and error.value.reason.startswith("rating off the scale")
    assert error.value.path == f"{path}!b/combined_data_1.txt"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n\n", "is empty"),
        (b"userId,movieId,rating\n1,2,3\n", "should start with a 'MovieID:' line"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "should start with a 'MovieID:' line"),
        (b"1:\n5\n6\n", "holds no 'CustomerID,Rating,YYYY-MM-DD' lines"),
    ],
)
def test_wrong_or_empty_rating_files_are_errors_naming_the_file(tmp_path, content, message):
    path = pack(tmp_path, {"combined_data_1.txt": content}, "folder")
    with pytest.raises(DataFormatError, match=message) as error:
        read_netflix(Source(path))
    assert error.value.path == str(path / "combined_data_1.txt")


def test_a_truncated_gzip_of_netflix_ratings_is_an_error(tmp_path):
    whole = gzip_file(tmp_path, "combined_data_1.txt", "1:\n" + "123456,3,2005-01-01\n" * 50_000)
    data = whole.read_bytes()
    whole.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="truncated or corrupt") as error:
        load(whole, cache=False)
    assert str(whole) in str(error.value)


@pytest.fixture(scope="module")
def synthetic():
    return synthesize(3000, seed=1)


def test_write_netflix_round_trip(tmp_path, synthetic):
    folder = write_netflix(synthetic, tmp_path / "nf", manifest={"kind": "test"})
    assert sorted(p.name for p in folder.iterdir()) == [
        "combined_data_1.txt", "manifest.json", "movie_titles.csv"
    ]  # fmt: skip
    back = load(folder, cache=False)
    assert back.report.dropped == {} and back.report.rows_read == 3000
    original = synthetic.ratings
    # Synthetic ratings come grouped by movie, as the file is: the same rows in the same order.
    for column in ("user_id", "item_id", "rating"):
        np.testing.assert_array_equal(back.ratings[column].to_numpy(), original[column].to_numpy())
    np.testing.assert_array_equal(  # a date is kept, the time of day is not
        back.ratings["timestamp"].to_numpy(), original["timestamp"].to_numpy() // 86_400 * 86_400
    )
    m, w = back.movies, synthetic.movies
    assert m["item_id"].tolist() == w["item_id"].tolist()
    assert m["title"].tolist() == w["title"].tolist()
    assert m["year"].isna().tolist() == w["year"].isna().tolist()
    assert m["year"].dropna().tolist() == w["year"].dropna().tolist()
    # The fixture really exercises latin-1 titles, commas and unknown years.
    titles = (folder / "movie_titles.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        titles.decode("utf-8")
    assert w["title"].str.contains(",").any() and w["year"].isna().any()
    assert b",NULL," in titles


def test_a_hand_written_dataset_round_trips_exactly(tmp_path):
    dataset = load(pack(tmp_path, ORIGINAL, "folder"), cache=False)
    back = load(write_netflix(dataset, tmp_path / "out"), cache=False)
    assert rows(back) == expected_rows()  # already grouped by movie: same order
    check_titles(back.movies)


def test_write_probe_reads_back_grouped_by_movie(tmp_path):
    from recsys.data.netflix import write_probe

    pairs = pd.DataFrame({"user_id": [7, 3, 9, 3, 12], "item_id": [2, 1, 2, 17, 1]})
    path = write_probe(pairs, tmp_path / "probe.txt")
    assert path.read_text() == "1:\n3\n12\n2:\n7\n9\n17:\n3\n"  # movies ascending, users as given
    back = read_probe(tmp_path)
    assert sorted(zip(back["user_id"], back["item_id"], strict=True)) == sorted(
        zip(pairs["user_id"], pairs["item_id"], strict=True)
    )


@pytest.mark.parametrize(
    ("titles", "encoding"),
    [
        (["Amélie", "千と千尋の神隠し", "Emoji 🎬"], "utf-8"),  # beyond latin-1: were "????"
        (["Amélie", "Les Misérables"], "latin-1"),  # as the original files are
        (["Ã©tÃ©", "Plain"], "utf-8"),  # latin-1 bytes that would read back as "été"
        (["Plain", "Also plain"], "ascii"),
    ],
)
def test_titles_survive_writing_and_reading_back(tmp_path, titles, encoding):
    ids = np.arange(1, len(titles) + 1)
    ratings = ratings_frame(np.full(len(ids), 7), ids, np.full(len(ids), 3.0),
                            np.full(len(ids), day("2005-09-06")))  # fmt: skip
    movies = movies_frame(ids, titles, [2003] * len(ids), [[] for _ in ids])
    folder = write_netflix(Dataset(ratings, movies, WHOLE_STARS), tmp_path / "out")
    written = (folder / "movie_titles.csv").read_bytes()
    assert written.decode(encoding).split("\n")[0] == f"1,2003,{titles[0]}"
    if encoding == "latin-1":
        with pytest.raises(UnicodeDecodeError):
            written.decode("utf-8")
    assert load(folder, cache=False).movies["title"].tolist() == titles
