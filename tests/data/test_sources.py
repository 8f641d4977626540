"""Sources (SPEC §2.1): a folder, a .zip, a .tar, a .tar.gz or a .gz are read the same way, and a
truncated or empty one is a clear `DataFormatError` that names it."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from recsys.data.sources import Source
from recsys.errors import DataError, DataFormatError

ARCHIVES = ["folder", "zip", "tar", "tar.gz"]


def write_files(folder: Path, files: dict[str, bytes | str]) -> Path:
    """Write ``files`` (relative name -> content; str is UTF-8) under ``folder``."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return folder


def pack(tmp_path: Path, files: dict[str, bytes | str], kind: str, top: str = "release") -> Path:
    """The files as a folder, or in a .zip/.tar/.tar.gz under a top folder (as releases are)."""
    if kind == "folder":
        return write_files(tmp_path / top, files)
    data = {n: c.encode("utf-8") if isinstance(c, str) else c for n, c in files.items()}
    if kind == "zip":
        path = tmp_path / f"{top}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in data.items():
                archive.writestr(f"{top}/{name}", content)
        return path
    path = tmp_path / f"{top}.{kind}"
    with tarfile.open(path, "w:gz" if kind == "tar.gz" else "w") as archive:
        for name, content in data.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


def gzip_file(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / f"{name}.gz"
    path.write_bytes(gzip.compress(content.encode() if isinstance(content, str) else content))
    return path


@pytest.mark.parametrize("kind", ARCHIVES)
def test_members_are_found_by_base_name_and_read_whole(tmp_path, kind):
    files = {"a/ratings.csv": "x,y\n1,2\n", "movies.csv": b"id\n\xe9\n"}
    source = Source(pack(tmp_path, files, kind))
    name = source.find_one("RATINGS.csv")  # case-insensitive, any folder
    assert name is not None and name.endswith("a/ratings.csv")
    with source.open(name) as stream:
        assert stream.read() == b"x,y\n1,2\n"
    with source.open(source.find_one("movies.csv")) as stream:
        assert stream.read() == b"id\n\xe9\n"
    assert source.find("*.dat") == []


def test_a_gz_file_is_a_source_of_one_member_named_without_gz(tmp_path):
    source = Source(gzip_file(tmp_path, "ratings.tsv", "1\t2\t3\n"))
    assert source.kind == "gz"
    assert source.names == ["ratings.tsv"]
    with source.open("ratings.tsv") as stream:
        assert stream.read() == b"1\t2\t3\n"


def test_a_missing_path_and_an_empty_folder_are_errors_naming_them(tmp_path):
    with pytest.raises(DataFormatError, match="no such file or folder") as missing:
        Source(tmp_path / "nowhere")
    assert missing.value.path == str(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="is empty"):
        Source(tmp_path / "empty")


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_truncated_archive_is_a_data_error_naming_it(tmp_path, kind):
    big = bytes(range(256)) * 4000  # incompressible enough that a cut loses members
    whole = pack(tmp_path, {"ratings.csv": big, "movies.csv": big}, kind)
    cut = tmp_path / f"cut.{kind}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated or corrupt") as error:
        Source(cut)
    assert str(cut) in str(error.value)


def test_a_truncated_gzip_fails_when_read_with_the_file_named(tmp_path):
    whole = gzip.compress(b"user,item,rating\n" + b"1,2,3\n" * 50_000)
    cut = tmp_path / "ratings.csv.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    source = Source(cut)
    with (
        pytest.raises(DataFormatError, match="truncated or corrupt") as error,
        source.open("ratings.csv") as stream,
    ):
        stream.read()
    assert error.value.path == str(cut)


def test_an_archive_inside_an_archive_asks_to_extract_the_outer_one(tmp_path):
    source = Source(pack(tmp_path, {"training_set.tar": b"not read"}, "zip"))
    with pytest.raises(DataFormatError, match="extract the outer one"):
        source.nested(source.find_one("training_set.tar"))
