"""`download` against a local HTTP server (never the network): resume, checksums, extraction."""

from __future__ import annotations

import hashlib
import io
import re
import socket
import threading
import time
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from recsys.data import download as dl
from recsys.data.download import DATASETS, NETFLIX_NOTE, Release, download
from recsys.data.loading import load
from recsys.errors import DownloadError

RATINGS = (
    "userId,movieId,rating,timestamp\n"
    "1,1,4.0,964982703\n"
    "1,2,3.5,964981247\n"
    "2,1,5.0,964982224\n"
    "2,3,2.0,964983815\n"
    "3,2,0.5,964982931\n"
)
MOVIES = (
    "movieId,title,genres\n"
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
    '2,"American President, The (1995)",Comedy|Drama|Romance\n'
    "3,Heat (1995),Action|Crime|Thriller\n"
)
NAME = "ml-latest-small"  # a registered name; the tests always pass url= and sha256=


@dataclass
class Served:
    """What one GET asked for and what the server sent back."""

    path: str
    range: str | None
    status: int
    sent: int


@dataclass
class Behaviour:
    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: int | None = None  # the next GET sends this many body bytes, then hangs up
    stall_after: int | None = None  # the next GET sends this many bytes, then goes quiet
    ignore_range: bool = False
    log: list[Served] = field(default_factory=list)


class Handler(BaseHTTPRequestHandler):
    """Serves `Behaviour.files` with single-range support ("bytes=N-"), HTTP/1.0 style."""

    def do_GET(self) -> None:
        b: Behaviour = self.server.behaviour  # type: ignore[attr-defined]
        body = b.files.get(self.path)
        requested = self.headers.get("Range")
        if body is None:
            self.send_error(404)
            b.log.append(Served(self.path, requested, 404, 0))
            return
        start = 0
        found = re.fullmatch(r"bytes=(\d+)-", requested or "")
        if found and not b.ignore_range:
            start = int(found[1])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                b.log.append(Served(self.path, requested, 416, 0))
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        payload = body[start:]
        status = 206 if start else 200
        if b.cut_after is not None:
            payload, b.cut_after = payload[: b.cut_after], None
        stall, b.stall_after = b.stall_after, None
        if stall is not None:
            self.wfile.write(payload[:stall])
            self.wfile.flush()
            time.sleep(1.0)
            payload = payload[:stall]
        else:
            self.wfile.write(payload)
        b.log.append(Served(self.path, requested, status, len(payload)))

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    httpd.behaviour = Behaviour()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    httpd.base = f"http://{host}:{port}"  # type: ignore[attr-defined]
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def make_zip(members: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def movielens_zip(top: str = NAME) -> bytes:
    # Padding makes the archive a few chunks long, so resuming has a real remainder.
    readme = "".join(
        f"line {i}: padding so the archive spans several reads\n" for i in range(20000)
    )
    return make_zip(
        {f"{top}/ratings.csv": RATINGS, f"{top}/movies.csv": MOVIES, f"{top}/README.txt": readme}
    )


def serve(server, body: bytes, path: str = "/ml.zip") -> tuple[str, str]:
    server.behaviour.files[path] = body
    return server.base + path, hashlib.sha256(body).hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the happy path -----------------------------------------------------------------------------


def test_downloads_verifies_extracts_and_load_reads_it(server, tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_CACHE_DIR", str(tmp_path / "cache"))
    body = movielens_zip()
    url, sha = serve(server, body)
    calls: list[tuple[int, int | None]] = []
    dest = tmp_path / "data"

    folder = download(NAME, dest, url=url, sha256=sha, progress=lambda n, t: calls.append((n, t)))

    assert folder == dest / NAME
    assert (folder / "ratings.csv").read_text() == RATINGS
    assert (dest / f"{NAME}.zip").read_bytes() == body
    assert not (dest / f"{NAME}.zip.part").exists()
    assert [(s.status, s.range) for s in server.behaviour.log] == [(200, None)]
    assert calls[0] == (0, len(body))
    assert calls[-1] == (len(body), len(body))
    assert [n for n, _ in calls] == sorted(n for n, _ in calls)

    dataset = load(folder)
    assert dataset.n_ratings == 5
    assert sorted(dataset.ratings["rating"].tolist()) == [0.5, 2.0, 3.5, 4.0, 5.0]
    assert dataset.movies.set_index("item_id").loc[2, "title"] == "American President, The (1995)"


def test_uses_the_registry_checksum_when_none_is_given(server, tmp_path, monkeypatch):
    body = movielens_zip("ml-test")
    url, sha = serve(server, body)
    monkeypatch.setitem(DATASETS, "ml-test", Release("ml-test", sha, len(body), "ml-test"))
    assert download("ml-test", tmp_path, url=url) == tmp_path / "ml-test"

    monkeypatch.setitem(DATASETS, "ml-test2", Release("ml-test2", "0" * 64, None, "ml-test2"))
    with pytest.raises(DownloadError, match=f"expected {'0' * 64}, got {sha}"):
        download("ml-test2", tmp_path, url=url)


def test_a_mirror_with_another_top_folder_still_lands_in_the_release_folder(server, tmp_path):
    url, sha = serve(server, movielens_zip("some-mirror-name"))
    folder = download(NAME, tmp_path, url=url, sha256=sha.upper())
    assert folder == tmp_path / NAME
    assert (folder / "movies.csv").read_text() == MOVIES


def test_second_call_is_a_no_op(server, tmp_path):
    url, sha = serve(server, movielens_zip())
    folder = download(NAME, tmp_path, url=url, sha256=sha)
    stamp = (folder / "ratings.csv").stat().st_mtime_ns
    requests = len(server.behaviour.log)

    assert download(NAME, tmp_path, url=url, sha256=sha) == folder
    assert len(server.behaviour.log) == requests
    assert (folder / "ratings.csv").stat().st_mtime_ns == stamp


def test_a_verified_zip_already_there_is_extracted_without_the_network(tmp_path):
    body = movielens_zip()
    (tmp_path / f"{NAME}.zip").write_bytes(body)
    unreachable = f"http://127.0.0.1:{free_port()}/ml.zip"
    folder = download(NAME, tmp_path, url=unreachable, sha256=hashlib.sha256(body).hexdigest())
    assert (folder / "ratings.csv").read_text() == RATINGS


# --- resuming -----------------------------------------------------------------------------------


def test_resumes_an_interrupted_transfer_with_a_range_request(server, tmp_path):
    body = movielens_zip()
    url, sha = serve(server, body)
    half = len(body) // 2
    server.behaviour.cut_after = half
    part = tmp_path / f"{NAME}.zip.part"

    with pytest.raises(DownloadError, match=rf"after {half} of {len(body)} bytes.*resume"):
        download(NAME, tmp_path, url=url, sha256=sha)
    assert part.read_bytes() == body[:half]
    assert not (tmp_path / NAME).exists()

    calls: list[tuple[int, int | None]] = []
    folder = download(
        NAME, tmp_path, url=url, sha256=sha, progress=lambda n, t: calls.append((n, t))
    )

    first, second = server.behaviour.log
    assert (first.range, first.sent) == (None, half)
    assert (second.range, second.status, second.sent) == (f"bytes={half}-", 206, len(body) - half)
    assert calls[0] == (half, len(body))
    assert calls[-1] == (len(body), len(body))
    assert (tmp_path / f"{NAME}.zip").read_bytes() == body
    assert not part.exists()
    assert (folder / "ratings.csv").read_text() == RATINGS


def test_a_server_that_ignores_range_starts_over(server, tmp_path):
    body = movielens_zip()
    url, sha = serve(server, body)
    server.behaviour.cut_after = 1000
    with pytest.raises(DownloadError):
        download(NAME, tmp_path, url=url, sha256=sha)
    server.behaviour.ignore_range = True

    folder = download(NAME, tmp_path, url=url, sha256=sha)

    second = server.behaviour.log[-1]
    assert (second.range, second.status, second.sent) == ("bytes=1000-", 200, len(body))
    assert (tmp_path / f"{NAME}.zip").read_bytes() == body  # not 1000 bytes + the whole file
    assert (folder / "ratings.csv").exists()


def test_a_complete_part_answered_with_416_is_finished(server, tmp_path):
    body = movielens_zip()
    url, sha = serve(server, body)
    (tmp_path / f"{NAME}.zip.part").write_bytes(body)

    folder = download(NAME, tmp_path, url=url, sha256=sha)

    assert [(s.range, s.status) for s in server.behaviour.log] == [(f"bytes={len(body)}-", 416)]
    assert (folder / "ratings.csv").read_text() == RATINGS


def test_a_stalled_transfer_times_out_and_keeps_the_part(server, tmp_path):
    body = movielens_zip()
    url, sha = serve(server, body)
    server.behaviour.stall_after = 500
    with pytest.raises(DownloadError, match=r"after 500 bytes.*timed out"):
        download(NAME, tmp_path, url=url, sha256=sha, timeout=0.2)
    assert (tmp_path / f"{NAME}.zip.part").read_bytes() == body[:500]


# --- failures -----------------------------------------------------------------------------------


def test_checksum_mismatch_deletes_the_file_and_names_both_hashes(server, tmp_path):
    body = movielens_zip()
    url, actual = serve(server, body)
    wrong = hashlib.sha256(b"something else").hexdigest()

    with pytest.raises(DownloadError, match="SHA-256 mismatch") as caught:
        download(NAME, tmp_path, url=url, sha256=wrong)

    assert wrong in str(caught.value) and actual in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_corrupt_zip_already_there_is_downloaded_again(server, tmp_path, monkeypatch):
    """Against the registry's checksum: the file there is replaced once a new one verifies."""
    body = movielens_zip("ml-test")
    url, sha = serve(server, body)
    monkeypatch.setitem(DATASETS, "ml-test", Release("ml-test", sha, len(body), "ml-test"))
    (tmp_path / "ml-test.zip").write_bytes(b"not the archive")
    folder = download("ml-test", tmp_path, url=url)
    assert (tmp_path / "ml-test.zip").read_bytes() == body
    assert (folder / "ratings.csv").exists()


def test_an_archive_there_is_kept_until_a_new_one_is_verified(tmp_path, monkeypatch):
    sha = hashlib.sha256(movielens_zip("ml-test")).hexdigest()
    monkeypatch.setitem(DATASETS, "ml-test", Release("ml-test", sha, None, "ml-test"))
    (tmp_path / "ml-test.zip").write_bytes(b"an older archive")
    unreachable = f"http://127.0.0.1:{free_port()}/ml.zip"
    with pytest.raises(DownloadError, match="could not connect"):
        download("ml-test", tmp_path, url=unreachable)
    assert (tmp_path / "ml-test.zip").read_bytes() == b"an older archive"


def test_a_checksum_given_that_the_archive_there_fails_is_refused_and_the_file_kept(tmp_path):
    """A mistyped --sha256 must not cost the user a good archive (audit finding 3)."""
    body = movielens_zip()
    (tmp_path / f"{NAME}.zip").write_bytes(body)
    typo = "0123456789abcdef" * 4
    unreachable = f"http://127.0.0.1:{free_port()}/ml.zip"
    with pytest.raises(DownloadError, match="does not match the SHA-256 given") as caught:
        download(NAME, tmp_path, url=unreachable, sha256=typo)
    assert hashlib.sha256(body).hexdigest() in str(caught.value)
    assert "\n" not in str(caught.value)
    assert (tmp_path / f"{NAME}.zip").read_bytes() == body


def test_a_folder_with_the_users_own_files_is_never_replaced(server, tmp_path):
    """Files in DEST/<name>/ that the archive does not hold, or holds otherwise, are the
    user's: the download is refused and they stay (audit finding 2)."""
    url, sha = serve(server, movielens_zip())
    mine = tmp_path / NAME
    mine.mkdir()
    (mine / "my-notes.txt").write_text("my edits")
    (mine / "ratings.csv").write_text("edited by hand")
    with pytest.raises(DownloadError, match="not this archive's") as caught:
        download(NAME, tmp_path, url=url, sha256=sha)
    assert "my-notes.txt" in str(caught.value) and "ratings.csv" in str(caught.value)
    assert (mine / "my-notes.txt").read_text() == "my edits"
    assert (mine / "ratings.csv").read_text() == "edited by hand"
    assert sorted(p.name for p in mine.iterdir()) == ["my-notes.txt", "ratings.csv"]
    assert not list(tmp_path.glob(".*extracting"))


def test_a_folder_holding_only_the_archives_files_is_replaced(server, tmp_path):
    """A release unzipped by hand (the same files, or some of them) is taken over."""
    url, sha = serve(server, movielens_zip())
    (tmp_path / NAME).mkdir()
    (tmp_path / NAME / "ratings.csv").write_text(RATINGS)
    folder = download(NAME, tmp_path, url=url, sha256=sha)
    assert sorted(p.name for p in folder.iterdir()) == ["README.txt", "movies.csv", "ratings.csv"]


def test_404_is_a_download_error(server, tmp_path):
    with pytest.raises(DownloadError, match=r"/missing\.zip.*HTTP 404"):
        download(NAME, tmp_path, url=server.base + "/missing.zip", sha256="a" * 64)
    assert not (tmp_path / f"{NAME}.zip.part").exists()


def test_connection_refused_is_a_download_error(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/ml.zip"
    with pytest.raises(DownloadError, match=rf"{re.escape(url)}: could not connect"):
        download(NAME, tmp_path, url=url, sha256="a" * 64)


def test_connection_refused_keeps_an_earlier_part(tmp_path):
    part = tmp_path / f"{NAME}.zip.part"
    part.write_bytes(b"first half")
    with pytest.raises(DownloadError, match="could not connect"):
        download(NAME, tmp_path, url=f"http://127.0.0.1:{free_port()}/x.zip", sha256="a" * 64)
    assert part.read_bytes() == b"first half"


def test_unknown_name_lists_the_known_ones(tmp_path):
    with pytest.raises(DownloadError, match="unknown data set 'ml-7m'") as caught:
        download("ml-7m", tmp_path)
    for name in ("ml-latest-small", "ml-latest", "ml-100k", "ml-1m", "ml-10m", "ml-25m", "ml-32m"):
        assert name in str(caught.value)


@pytest.mark.parametrize("name", ["netflix", "Netflix-Prize"])
def test_netflix_explains_where_the_data_is_found(name, tmp_path):
    with pytest.raises(DownloadError) as caught:
        download(name, tmp_path)
    message = str(caught.value)
    assert message == NETFLIX_NOTE
    for needed in ("netflix-inc/netflix-prize-data", "combined_data_1.txt", "movie_titles.csv",
                   "nf_prize_dataset.tar.gz", "--data", "RECSYS_DATA"):  # fmt: skip
        assert needed in message
    assert list(tmp_path.iterdir()) == []


def test_a_release_without_a_known_checksum_is_refused_before_any_request(server, tmp_path):
    assert DATASETS["ml-10m"].sha256 is None
    url, _ = serve(server, movielens_zip())
    with pytest.raises(DownloadError, match=r"no published SHA-256.*sha256="):
        download("ml-10m", tmp_path, url=url)
    assert server.behaviour.log == []


def test_a_malformed_checksum_is_refused(tmp_path):
    with pytest.raises(DownloadError, match="not a SHA-256"):
        download(NAME, tmp_path, url="http://127.0.0.1:9/x.zip", sha256="abc123")


@pytest.mark.parametrize(
    "evil", ["../evil.txt", "/tmp/recsys-evil.txt", f"{NAME}/../../evil.txt", "C:/evil.txt"]
)
def test_an_archive_member_escaping_the_folder_is_refused(evil, server, tmp_path):
    body = make_zip({f"{NAME}/ratings.csv": RATINGS, f"{NAME}/movies.csv": MOVIES, evil: "x"})
    url, sha = serve(server, body)
    dest = tmp_path / "data"

    with pytest.raises(DownloadError, match=r"outside.*refusing"):
        download(NAME, dest, url=url, sha256=sha)

    assert not (tmp_path / "evil.txt").exists()
    assert not Path("/tmp/recsys-evil.txt").exists()
    assert not (dest / NAME).exists()
    assert not (dest / f".{NAME}.verified").exists()


# --- the registry -------------------------------------------------------------------------------


def test_the_registry_holds_every_grouplens_release():
    assert set(DATASETS) == {
        "ml-latest-small", "ml-latest", "ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m"
    }  # fmt: skip
    for name, release in DATASETS.items():
        assert release.name == name
        assert release.url == f"https://files.grouplens.org/datasets/movielens/{name}.zip"
        assert release.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", release.sha256)
        assert release.size is None or release.size > 0
    assert DATASETS["ml-10m"].folder == "ml-10M100K"
    assert dl.DATASETS is DATASETS
