"""A folder, an archive (.zip, .tar, .tar.gz) or a single file (plain or .gz), seen the same way:
a list of member files opened as binary streams.

Loaders only ask for members by base name, so a release read from its folder, from its zip, or
from a tarball with a different top folder looks the same. Archives inside a source (the Netflix
Prize's ``training_set.tar``) open as sources of their own with `Source.nested`.
"""

from __future__ import annotations

import fnmatch
import gzip
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from recsys.errors import DataFormatError

CORRUPT = (EOFError, zlib.error, tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile)
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def basename(name: str) -> str:
    return PurePosixPath(name).name


def hidden(name: str) -> bool:
    """A member no data set is made of: macOS ``__MACOSX/`` and ``._*`` forks, dot files and
    dot folders."""
    return any(part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(name).parts)


class Source:
    """Named member files of a folder, an archive or one file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise DataFormatError(self.path, "no such file or folder")
        self._tar_stream: BinaryIO | None = None
        try:
            self.names = self._list()
        except CORRUPT as error:
            raise DataFormatError(self.path, f"truncated or corrupt archive ({error})") from error
        if not self.names:
            raise DataFormatError(self.path, "is empty: no files in it")

    @property
    def kind(self) -> str:
        name = self.path.name.lower()
        if self.path.is_dir():
            return "folder"
        if name.endswith(".zip"):
            return "zip"
        if name.endswith(TAR_SUFFIXES):
            return "tar"
        if name.endswith(".gz"):
            return "gz"
        return "file"

    def _list(self) -> list[str]:
        kind = self.kind
        if kind == "folder":
            return sorted(
                p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()
            )
        if kind == "zip":
            with zipfile.ZipFile(self.path) as archive:
                return [i.filename for i in archive.infolist() if not i.is_dir()]
        if kind == "tar":
            with tarfile.open(self.path) as archive:
                return [m.name for m in archive.getmembers() if m.isfile()]
        if kind == "gz":
            return [self.path.name[: -len(".gz")]]
        return [self.path.name]

    def label(self, name: str) -> str:
        """How error messages name a member: the file itself, or archive!member."""
        if self.kind == "folder":
            return str(self.path / name)
        if self.kind in ("file", "gz"):
            return str(self.path)
        return f"{self.path}!{name}"

    def find(self, *patterns: str) -> list[str]:
        """Members whose base name matches any pattern (case-insensitive), in stored order."""
        lowered = [p.lower() for p in patterns]
        return [
            n for n in self.names if any(fnmatch.fnmatch(basename(n).lower(), p) for p in lowered)
        ]

    def find_one(self, *patterns: str) -> str | None:
        """The member that matches, None when none does; several (a folder that holds more
        than one data set) raise DataFormatError naming them."""
        found = [n for n in self.find(*patterns) if not hidden(n)]
        if len(found) > 1:
            raise DataFormatError(self.path, f"holds {len(found)} files that could be its "
                                  f"{' or '.join(patterns)} ({', '.join(found[:4])}): name the "
                                  "folder of one data set")  # fmt: skip
        return found[0] if found else None

    def together(self, *names: str) -> None:
        """Raise DataFormatError unless the members lie in one folder (one data set)."""
        folders = {str(PurePosixPath(n).parent) for n in names}
        if len(folders) > 1:
            raise DataFormatError(self.path, f"{', '.join(names)} lie in different folders: "
                                  "name the folder of one data set")  # fmt: skip

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        """Open a member for binary reading; a truncated archive raises DataFormatError."""
        try:
            with self._open(name) as stream:
                yield stream
        except CORRUPT as error:
            raise DataFormatError(
                self.label(name), f"truncated or corrupt archive ({error})"
            ) from error

    def _open(self, name: str):
        kind = self.kind
        if kind == "folder":
            return open(self.path / name, "rb")
        if kind == "file":
            return open(self.path, "rb")
        if kind == "gz":
            return gzip.open(self.path, "rb")
        if kind == "zip":
            return _zip_member(self.path, name)
        return _tar_member(self.path, name)

    def iter_open(self, names: list[str]) -> Iterator[tuple[str, BinaryIO]]:
        """Open many members one after another, in stored order (one pass over a tarball)."""
        if self.kind != "tar":
            for name in names:
                with self.open(name) as stream:
                    yield name, stream
            return
        wanted = set(names)
        try:
            with tarfile.open(self.path, "r|*") as archive:
                for member in archive:
                    if member.name in wanted:
                        stream = archive.extractfile(member)
                        yield member.name, stream
        except CORRUPT as error:
            raise DataFormatError(self.path, f"truncated or corrupt archive ({error})") from error

    def nested(self, name: str) -> Source:
        """A member that is itself an archive (e.g. training_set.tar), as a source."""
        if self.kind == "folder":
            return Source(self.path / name)
        raise DataFormatError(
            self.label(name),
            "an archive inside an archive: extract the outer one first "
            "(e.g. tar xzf nf_prize_dataset.tar.gz) and point recsys at the folder",
        )


@contextmanager
def _zip_member(path: Path, name: str) -> Iterator[BinaryIO]:
    with zipfile.ZipFile(path) as archive, archive.open(name) as stream:
        yield stream


@contextmanager
def _tar_member(path: Path, name: str) -> Iterator[BinaryIO]:
    with tarfile.open(path) as archive:
        stream = archive.extractfile(name)
        if stream is None:
            raise DataFormatError(f"{path}!{name}", "is not a regular file")
        with stream:
            yield stream
