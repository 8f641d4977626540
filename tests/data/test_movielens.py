"""MovieLens loaders (SPEC §2.1): latest CSV, 100k and 1m/10m, each from a folder and from its
archives, in the one canonical form (SPEC §2.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.data.loading import detect_format, load
from recsys.data.schema import HALF_STARS, WHOLE_STARS
from recsys.data.sources import Source
from recsys.errors import DataFormatError
from tests.data.test_sources import ARCHIVES, gzip_file, pack

LATEST = {
    "ratings.csv": (
        "userId,movieId,rating,timestamp\n"
        "1,1,4.0,964982703\n"
        "1,3,0.5,964981247\n"
        "2,2,5.0,1445714835\n"
        "2,4,3.5,1445714900\n"
        "3,5,2.0,1200000000\n"
    ),
    "movies.csv": (
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
        '2,"American President, The (1995)",Comedy|Drama|Romance\n'
        '3,"Crimson Rivers 2: Angels of the Apocalypse (Rivières pourpres II, Les) (2004)",'
        "Action|Crime|Thriller\n"
        '4,"Mom and Dad Save the World ""Extended"" (1992)",Comedy\n'
        "5,Black Mirror,(no genres listed)\n"
        "6,Fawlty Towers (1975-1979),Comedy\n"
    ),
}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_CACHE_DIR", str(tmp_path / "cache"))


def canonical_dtypes(dataset) -> None:
    r = dataset.ratings
    assert list(r.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert r["rating"].dtype == np.float32
    assert r["timestamp"].dtype == np.int64
    assert r["user_id"].dtype.kind == "i" and r["item_id"].dtype.kind == "i"
    assert list(dataset.movies.columns) == ["item_id", "title", "year", "genres"]
    assert str(dataset.movies["year"].dtype) == "Int32"


@pytest.mark.parametrize("kind", ARCHIVES)
def test_latest_csv_from_a_folder_or_an_archive(tmp_path, kind):
    path = pack(tmp_path, LATEST, kind, top="ml-latest-small")
    assert detect_format(Source(path)) == "movielens"
    dataset = load(path, cache=False)
    canonical_dtypes(dataset)
    r = dataset.ratings
    assert r["user_id"].tolist() == [1, 1, 2, 2, 3]
    assert r["item_id"].tolist() == [1, 3, 2, 4, 5]
    assert r["rating"].tolist() == [4.0, 0.5, 5.0, 3.5, 2.0]
    assert r["timestamp"].tolist() == [964982703, 964981247, 1445714835, 1445714900, 1200000000]
    assert dataset.scale == HALF_STARS
    assert dataset.report.rows_read == 5 and dataset.report.rows_kept == 5
    m = dataset.movies.set_index("item_id")
    assert m.loc[2, "title"] == "American President, The (1995)"
    assert m.loc[3, "title"].startswith("Crimson Rivers 2") and m.loc[3, "year"] == 2004
    assert m.loc[4, "title"] == 'Mom and Dad Save the World "Extended" (1992)'
    assert m.loc[1, "year"] == 1995 and m.loc[4, "year"] == 1992
    assert m.loc[6, "year"] == 1975  # a "(YYYY-YYYY)" run: its first year
    assert pd.isna(m.loc[5, "year"])  # no year in the title
    assert m.loc[1, "genres"] == ["Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    assert m.loc[5, "genres"] == []  # "(no genres listed)"


def test_latest_csv_reads_utf8_titles(tmp_path):
    files = dict(LATEST)
    files["movies.csv"] = "movieId,title,genres\n1,Amélie (2001),Comedy\n2,Léon (1994),Action\n"
    files["ratings.csv"] = "userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,3.0,2\n"
    dataset = load(pack(tmp_path, files, "folder"), cache=False)
    assert dataset.movies["title"].tolist() == ["Amélie (2001)", "Léon (1994)"]


def test_a_movie_listed_twice_in_the_catalogue_is_kept_once_and_said(tmp_path, caplog):
    files = dict(LATEST)
    files["movies.csv"] = "movieId,title,genres\n1,A (2001),Comedy\n2,B (1994),Action\n1,C,Drama\n"
    files["ratings.csv"] = "userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,3.0,2\n"
    dataset = load(pack(tmp_path, files, "folder"), cache=False)
    assert dataset.movies["title"].tolist() == ["A (2001)", "B (1994)"]
    assert dataset.describe()["movies_in_catalogue"] == 2
    assert "1 repeated movie ids, each kept once" in caplog.text


U_ITEM = (
    "1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)"
    "|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    "2|Misérables, Les (1995)|01-Jan-1995||http://x|0|0|0|0|0|0|0|0|1|0|0|0|1|0|0|0|0|0|0\n"
    "3|Unknown Date (1994)|||http://x|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    "4|unknown|||http://x|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
).encode("latin-1")
U_DATA = "196\t1\t3\t881250949\n186\t2\t5\t891717742\n22\t3\t1\t878887116\n244\t4\t2\t880606923\n"


@pytest.mark.parametrize("kind", ARCHIVES)
def test_ml100k_from_a_folder_or_an_archive(tmp_path, kind):
    path = pack(tmp_path, {"u.data": U_DATA, "u.item": U_ITEM, "README": "x"}, kind, "ml-100k")
    assert detect_format(Source(path)) == "ml-100k"
    dataset = load(path, cache=False)
    canonical_dtypes(dataset)
    r = dataset.ratings
    assert r["user_id"].tolist() == [196, 186, 22, 244]
    assert r["item_id"].tolist() == [1, 2, 3, 4]
    assert r["rating"].tolist() == [3.0, 5.0, 1.0, 2.0]
    assert r["timestamp"].tolist() == [881250949, 891717742, 878887116, 880606923]
    assert dataset.scale == WHOLE_STARS
    m = dataset.movies.set_index("item_id")
    assert m.loc[2, "title"] == "Misérables, Les (1995)"  # latin-1 decoded
    assert m.loc[1, "genres"] == ["Animation", "Children's", "Comedy"]
    assert m.loc[2, "genres"] == ["Drama", "Musical"]
    assert m.loc[4, "genres"] == []  # only the "unknown" flag
    assert m.loc[1, "year"] == 1995
    assert m.loc[3, "year"] == 1994  # no release date: the title's year
    assert pd.isna(m.loc[4, "year"])


ML1M_MOVIES = (
    "1::Toy Story (1995)::Animation|Children's|Comedy\n"
    "73::Misérables, Les (1995)::Drama|Musical\n"
    "2::Dr. Strangelove: or How I Learned to Stop Worrying (1963)::Sci-Fi|War\n"
).encode("latin-1")
ML1M_RATINGS = "1::1::5::978300760\n1::73::3::978302109\n6040::2::4::956703932\n"


@pytest.mark.parametrize("kind", ARCHIVES)
def test_ml1m_dat_from_a_folder_or_an_archive(tmp_path, kind):
    files = {"ratings.dat": ML1M_RATINGS, "movies.dat": ML1M_MOVIES, "users.dat": "1::F::1::10::1"}
    path = pack(tmp_path, files, kind, "ml-1m")
    assert detect_format(Source(path)) == "ml-dat"
    dataset = load(path, cache=False)
    canonical_dtypes(dataset)
    r = dataset.ratings
    assert r.values.tolist() == [[1, 1, 5, 978300760], [1, 73, 3, 978302109],
                                 [6040, 2, 4, 956703932]]  # fmt: skip
    assert dataset.scale == WHOLE_STARS
    m = dataset.movies.set_index("item_id")
    assert m.loc[73, "title"] == "Misérables, Les (1995)"
    assert m.loc[2, "title"] == "Dr. Strangelove: or How I Learned to Stop Worrying (1963)"
    assert m.loc[2, "year"] == 1963
    assert m.loc[1, "genres"] == ["Animation", "Children's", "Comedy"]


def test_ml10m_dat_is_utf8_on_the_half_star_scale(tmp_path):
    movies = "1::Toy Story (1995)::Comedy\n2::Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)::Comedy|Romance\n"  # noqa: E501
    ratings = "1::1::5::838985046\n1::2::3.5::838983525\n"
    dataset = load(pack(tmp_path, {"ratings.dat": ratings, "movies.dat": movies}, "folder"),
                   cache=False)  # fmt: skip
    assert dataset.scale == HALF_STARS
    assert dataset.ratings["rating"].tolist() == [5.0, 3.5]
    assert dataset.movies["title"].tolist()[1].startswith("Amélie (Fabuleux")
    assert dataset.movies["year"].tolist() == [1995, 2001]


def test_a_release_without_its_catalogue_is_an_error(tmp_path):
    path = pack(tmp_path, {"ratings.csv": LATEST["ratings.csv"], "tags.csv": "x"}, "folder")
    with pytest.raises(DataFormatError, match=r"needs ratings\.csv and movies\.csv"):
        load(path, cache=False)


@pytest.mark.parametrize("kind", ["folder", "gz"])
def test_a_lone_ratings_csv_is_read_as_a_generic_table(tmp_path, kind):
    if kind == "gz":
        path = gzip_file(tmp_path, "ratings.csv", LATEST["ratings.csv"])
    else:
        path = pack(tmp_path, {"ratings.csv": LATEST["ratings.csv"]}, "folder")
    assert detect_format(Source(path)) == "generic"
    dataset = load(path, cache=False)
    assert dataset.ratings["item_id"].tolist() == [1, 3, 2, 4, 5]
    assert dataset.ratings["rating"].tolist() == [4.0, 0.5, 5.0, 3.5, 2.0]
    assert dataset.scale == HALF_STARS
    assert dataset.movies["item_id"].tolist() == [1, 2, 3, 4, 5]  # a catalogue of ids only


def test_a_ratings_csv_with_the_wrong_header_names_the_missing_columns(tmp_path):
    files = dict(LATEST, **{"ratings.csv": "user,movie,stars\n1,1,4\n"})
    with pytest.raises(DataFormatError, match="no column userId, movieId, rating, timestamp"):
        load(pack(tmp_path, files, "folder"), cache=False)


def test_a_dat_file_that_is_not_colon_separated_is_an_error(tmp_path):
    files = {"ratings.dat": "1,1,5,978300760\n", "movies.dat": ML1M_MOVIES}
    with pytest.raises(DataFormatError, match=r'is not "::"-separated') as error:
        load(pack(tmp_path, files, "folder"), cache=False)
    assert error.value.path.endswith("ratings.dat")
