"""`download`: fetch a public MovieLens release into a data folder, resumably, verify its SHA-256,
and unpack it where `recsys.data.loading.load` can read it.

Only the GroupLens releases are downloadable. The Netflix Prize data has had no public download
since Netflix withdrew it; `NETFLIX_NOTE` says where copies are usually found.

Files in the data folder, for a release named ``ml-25m``:
``ml-25m.zip.part`` while a transfer is under way (kept when it fails, so the next call resumes),
``ml-25m.zip`` once it is complete and verified, the extracted folder (``ml-25m/``), and
``.ml-25m.verified`` holding the SHA-256 of the archive that folder came from, which makes a
second call a no-op.
"""

from __future__ import annotations

import filecmp
import hashlib
import http.client
import logging
import re
import shutil
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import recsys
from recsys.errors import DownloadError

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]

CHUNK = 1 << 20
GROUPLENS = "https://files.grouplens.org/datasets/movielens/"
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Release:
    """One downloadable archive: where it lives, what it must hash to, what it unpacks to."""

    name: str
    sha256: str | None  # of the .zip; None where no published value was found
    size: int | None  # bytes of the .zip, where known (a fallback total for progress)
    folder: str  # the top folder inside the zip
    note: str = ""

    @property
    def url(self) -> str:
        return f"{GROUPLENS}{self.name}.zip"


# Checksums are only those found published by other projects that pin these archives; where
# none was found the value is None and `download` asks for one (``sha256=``) instead of guessing.
#   [tfds]  tensorflow/datasets, tensorflow_datasets/url_checksums/movielens.txt
#           (URL, size in bytes, SHA-256 per release)
#   [disco] ankane/disco-cli, src/download.rs (the SHA-256 given to download_file per release)
#   [omni]  ISG-Siegen/OmniRec, src/omnirec/data_loaders/movielens_large.py (DatasetInfo)
#   [xover] LucisZhang/crossover-study, data/MANIFEST_ML32M.md (size of ml-32m.zip and the
#           same SHA-256, computed there from the downloaded file)
_LATEST = (
    "GroupLens regenerates the 'latest' releases from time to time, so this checksum can go "
    "stale; if it no longer matches, check the new archive yourself and pass sha256=."
)
DATASETS: dict[str, Release] = {
    r.name: r
    for r in (
        # sha256 and size: [tfds]; sha256 also [disco], [omni]
        Release(
            "ml-latest-small",
            "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
            978_202,
            "ml-latest-small",
            _LATEST,
        ),
        # sha256: [disco] (current version) and [omni]; an older disco-cli pinned another value,
        # which is the staleness _LATEST warns about. Size: not found.
        Release(
            "ml-latest",
            "66a9e518c747d76b241d9a859b001a2619d3ed1672ceef599eb50daf73a7b4a3",
            None,
            "ml-latest",
            _LATEST,
        ),
        # sha256 and size: [tfds]; sha256 also [disco], and ISG-Siegen/OmniRec
        # src/omnirec/data_loaders/movielens_100k.py
        Release(
            "ml-100k",
            "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
            4_924_029,
            "ml-100k",
        ),
        # sha256 and size: [tfds]; sha256 also [disco]
        Release(
            "ml-1m",
            "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
            5_917_549,
            "ml-1m",
        ),
        # No published SHA-256 found (projects pin only GroupLens's MD5 for this one).
        Release("ml-10m", None, None, "ml-10M100K"),
        # sha256 and size: [tfds]; sha256 also [omni]
        Release(
            "ml-20m",
            "96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3",
            198_702_078,
            "ml-20m",
        ),
        # sha256 and size: [tfds]; sha256 also [disco], [omni]
        Release(
            "ml-25m",
            "8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa",
            261_978_986,
            "ml-25m",
        ),
        # sha256: [disco]; size and the same sha256: [xover]
        Release(
            "ml-32m",
            "e4a68655d7386b8f95f2f2424b2ff975dfdd15ffd59e0d864a14dca43e99d6ee",
            238_950_008,
            "ml-32m",
        ),
    )
}

NETFLIX_NOTE = """\
The Netflix Prize data set has no public download: Netflix withdrew it after the prize ended,
so recsys cannot fetch it for you. Copies are usually found as
  - the Kaggle data set "netflix-inc/netflix-prize-data" (combined_data_1.txt ...
    combined_data_4.txt, movie_titles.csv, probe.txt, qualifying.txt), or
  - archived copies of the original nf_prize_dataset.tar.gz (training_set.tar with one
    mv_0000001.txt ... mv_0017770.txt file per movie, movie_titles.txt, probe.txt, qualifying.txt).
Put the files in a folder (extract nf_prize_dataset.tar.gz first; training_set.tar may stay as it
is) and point recsys at that folder with --data PATH or the RECSYS_DATA environment variable."""


def download(
    name: str,
    dest: Path,
    *,
    url: str | None = None,
    sha256: str | None = None,
    progress: Progress | None = None,
    timeout: float = 30,
) -> Path:
    """Download release ``name`` into the data folder ``dest`` and return its extracted folder.

    ``url`` replaces the GroupLens address (a mirror); ``sha256`` replaces the registry's checksum
    (needed for a release that has none). An interrupted transfer leaves ``<name>.zip.part`` and
    the next call resumes it with an HTTP Range request. The archive must match its SHA-256
    before anything is extracted: a bad download is deleted; an archive already in ``dest``
    that does not match is refused when ``sha256`` is given (the checksum may be the mistake),
    else replaced once a new download is verified. The extracted folder replaces an earlier
    ``dest/<folder>`` only when every file there is the archive's own (`_extract`).
    ``progress(bytes_so_far, total)`` is called as data arrives (total is None when unknown).
    Raises `DownloadError`.
    """
    release = _release(name)
    expected = _expected_sha256(release, sha256)
    url = url or release.url
    if not url.lower().startswith(("http://", "https://")):
        raise DownloadError(f"{url}: only http:// and https:// addresses can be downloaded")

    dest = Path(dest)
    folder = dest / release.folder
    archive = dest / f"{release.name}.zip"
    part = dest / f"{release.name}.zip.part"
    marker = dest / f".{release.name}.verified"
    if folder.is_dir() and _read(marker) == expected:
        log.debug("%s is already downloaded and verified in %s", release.name, folder)
        return folder
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(f"cannot create the data folder {dest}: {error}") from error

    fetch = not archive.exists()
    if not fetch:
        actual = _file_sha256(archive)
        if actual == expected:
            log.info("%s is already downloaded; verified its SHA-256", archive)
        elif sha256 is not None:  # the checksum given may be the mistake: keep the file
            raise DownloadError(
                f"{archive} is already there and does not match the SHA-256 given (it has "
                f"{actual}); check the checksum, or move the file away to download it again"
            )
        else:
            log.warning("%s does not match its SHA-256 (got %s); downloading it again (the "
                        "file is kept until the new one is verified)", archive, actual)  # fmt: skip
            fetch = True
    if fetch:
        actual = _fetch(url, part, timeout=timeout, progress=progress, size_hint=release.size)
        if actual != expected:
            part.unlink(missing_ok=True)
            hint = f" {release.note}" if release.note and sha256 is None else ""
            raise DownloadError(
                f"{url}: SHA-256 mismatch: expected {expected}, got {actual}; the bad download "
                f"was deleted.{hint}"
            )
        part.replace(archive)
        log.info("downloaded %s (SHA-256 verified)", archive)

    _extract(archive, dest, release.folder)
    marker.write_text(expected + "\n")
    log.info("extracted %s into %s", archive.name, folder)
    return folder


def _release(name: str) -> Release:
    key = name.strip().lower()
    if key.startswith(("netflix", "nf_prize", "nf-prize")):
        raise DownloadError(NETFLIX_NOTE)
    if key not in DATASETS:
        raise DownloadError(
            f"unknown data set {name!r}; recsys can download {', '.join(DATASETS)} "
            "(the Netflix Prize data must be obtained by hand: ask for 'netflix' to see how)"
        )
    return DATASETS[key]


def _expected_sha256(release: Release, sha256: str | None) -> str:
    if sha256 is None:
        if release.sha256 is None:
            raise DownloadError(
                f"{release.name}: recsys knows no published SHA-256 for {release.url}, so it "
                "will not download it unverified. Obtain the checksum from a source you trust "
                "(or run sha256sum on a copy you trust) and pass it: "
                f"download({release.name!r}, dest, sha256='<64 hex digits>') or "
                f"`recsys download {release.name} --sha256 <64 hex digits>`"
            )
        return release.sha256
    value = sha256.strip().lower()
    if not SHA256_HEX.fullmatch(value):
        raise DownloadError(f"{sha256!r} is not a SHA-256 checksum (64 hexadecimal digits)")
    return value


def _fetch(
    url: str, part: Path, *, timeout: float, progress: Progress | None, size_hint: int | None
) -> str:
    """Bring ``part`` up to the whole file, resuming what it holds; return its SHA-256."""
    have = part.stat().st_size if part.exists() else 0
    digest = hashlib.sha256()
    if have:
        _hash_file(part, digest)
    request = urllib.request.Request(url, headers={"User-Agent": f"recsys/{recsys.__version__}"})
    if have:
        request.add_header("Range", f"bytes={have}-")
        log.info("resuming %s at byte %d", url, have)
    else:
        log.info("downloading %s", url)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 416 and have:
            # Nothing past what we hold: the part is already the whole file.
            log.info("%s: the partial download is already complete", url)
            return digest.hexdigest()
        raise DownloadError(
            f"{url}: the server answered HTTP {error.code} {error.reason}"
        ) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"{url}: could not connect ({reason})") from error

    with response:
        if have and response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != have:
                part.unlink()
                raise DownloadError(
                    f"{url}: the server resumed at byte {start} instead of {have}; the partial "
                    "download was deleted, run again to start over"
                )
            mode = "ab"
        else:
            if have:
                log.info("%s: the server ignored the Range request; starting over", url)
            have, digest, mode = 0, hashlib.sha256(), "wb"
            total = None
        if total is None:
            length = response.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else size_hint
        done = have
        if progress is not None:
            progress(done, total)
        try:
            with open(part, mode) as out:
                while chunk := response.read1(CHUNK):  # what has arrived, at once
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
        except (OSError, http.client.HTTPException) as error:
            raise DownloadError(
                f"{url}: the transfer failed after {done} bytes ({error}); the partial download "
                f"is kept in {part}, run again to resume"
            ) from error
    if total is not None and done < total:
        raise DownloadError(
            f"{url}: the connection closed after {done} of {total} bytes; the partial download "
            f"is kept in {part}, run again to resume"
        )
    return digest.hexdigest()


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """(first byte, full size) of a ``Content-Range: bytes 100-199/200`` header."""
    found = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*", value or "")
    if not found:
        return None, None
    return int(found[1]), None if found[2] == "*" else int(found[2])


def _extract(archive: Path, dest: Path, folder: str) -> None:
    """Unpack ``archive`` so that its content ends up in ``dest/folder``.

    Every member is checked before anything is written, and one that would land outside the
    data folder (absolute, or climbing out with ``..``) refuses the whole archive. A single top
    folder in the archive becomes ``folder`` (mirrors may name it differently); otherwise the
    members themselves go into ``folder``.
    """
    root = dest.resolve()
    staging = dest / f".{folder}.extracting"
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            for info in members:
                _check_member(archive, root, info.filename)
            shutil.rmtree(staging, ignore_errors=True)
            zf.extractall(staging)
    except zipfile.BadZipFile as error:
        raise DownloadError(f"{archive}: not a readable zip archive ({error})") from error
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise DownloadError(f"{archive}: extraction failed ({error})") from error

    entries = [e for e in staging.iterdir() if e.name != "__MACOSX"]  # macOS zip litter
    top = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
    target = dest / folder
    if target.exists() or target.is_symlink():
        foreign = _not_in(target, top)
        if foreign:
            shutil.rmtree(staging, ignore_errors=True)
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if
                                              len(foreign) > 3 else "")  # fmt: skip
            raise DownloadError(
                f"{target} already exists and holds files that are not this archive's "
                f"({shown}); move them away, or give another --dest"
            )
        log.info("replacing %s, which holds only this archive's files", target)
        shutil.rmtree(target)
    top.replace(target)
    shutil.rmtree(staging, ignore_errors=True)


def _not_in(target: Path, extracted: Path) -> list[str]:
    """The paths under ``target`` that ``extracted`` does not hold with the same content (all
    of ``target`` when it is not a folder): what replacing ``target`` would lose."""
    if target.is_symlink() or not target.is_dir():
        return [target.name]
    lost = []
    for path in sorted(target.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        relative = path.relative_to(target)
        twin = extracted / relative
        same = path.is_file() and not path.is_symlink() and twin.is_file()
        if not (same and filecmp.cmp(path, twin, shallow=False)):
            lost.append(relative.as_posix())
    return lost


def _check_member(archive: Path, root: Path, name: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    escapes = (
        path.is_absolute()
        or ".." in path.parts
        or re.match(r"[A-Za-z]:", name) is not None  # a Windows drive
        or not (root / path).resolve().is_relative_to(root)
    )
    if escapes:
        raise DownloadError(
            f"{archive}: member {name!r} would be written outside {root}; refusing to extract "
            "this archive"
        )


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    _hash_file(path, digest)
    return digest.hexdigest()


def _hash_file(path: Path, digest) -> None:
    """Feed a file to a running hash (a resumed download continues from its part)."""
    try:
        with open(path, "rb") as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
    except OSError as error:
        raise DownloadError(f"cannot read {path}: {error}") from error


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None
