"""A hostile client against the real server (`recsys serve`, as the README and the image start
it), one test per case of issue 10 and of issue 13's API consistency, and the like.

The server runs with short timeouts and small connection limits so the suite is quick. Every
test notes its case, the status it got and the server's RSS growth; the last test checks that
/metrics counted no 500 over the whole suite and prints the table (`pytest -s` shows it).
"""

from __future__ import annotations

import gzip
import re
import threading
import time

import httpx
import orjson
import pytest

from tests.api.live_server import (
    CHUNKED,
    HEAD,
    MIB,
    LiveServer,
    Raw,
    body_of,
    chunk,
    header,
    status_of,
    stream_chunked,
)

LIMITS = {
    "RECSYS_MAX_BODY_BYTES": str(2 * MIB),
    "RECSYS_HEADER_TIMEOUT": "1",
    "RECSYS_BODY_TIMEOUT": "1.5",
    "RECSYS_IDLE_TIMEOUT": "1",
    "RECSYS_DRAIN_TIMEOUT": "1",
    "RECSYS_MAX_CONNECTIONS": "24",
    "RECSYS_MAX_CONCURRENCY": "4",
    "RECSYS_CORS_ORIGINS": "http://allowed.example",
}
JSON = {"content-type": "application/json"}
REPORT: list[tuple[str, str, float]] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory, artifact):
    log = tmp_path_factory.mktemp("hostile") / "server.log"
    live = LiveServer({"RECSYS_MODEL": str(artifact), **LIMITS}, log).wait_ready()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@pytest.fixture
def note(server, request):
    """Call with the status(es) seen; records the case with the server's RSS growth (MB)."""
    before = server.rss()

    def record(status) -> None:
        REPORT.append((request.node.name.removeprefix("test_"), str(status),
                       (server.rss() - before) / MIB))  # fmt: skip

    return record


# -- bodies ----------------------------------------------------------------------------------
def test_a_50_mb_chunked_body_is_413_as_its_bytes_pass_the_limit(server, note):
    before = server.rss()
    answer, sent = stream_chunked(server.port, 50 * MIB)
    growth = server.rss() - before
    note(status_of(answer))
    assert status_of(answer) == 413, answer
    assert orjson.loads(body_of(answer)) == {"detail": "request body larger than 2,097,152 bytes"}
    assert sent < 16 * MIB  # answered while the body was still coming
    assert growth < 20 * MIB


def test_four_50_mb_chunked_bodies_in_parallel_are_413_without_memory_growth(server, note):
    before = server.rss()
    answers: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: answers.append(stream_chunked(server.port, 50 * MIB)[0]))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    growth = server.rss() - before
    note(",".join(str(status_of(a)) for a in answers))
    assert [status_of(a) for a in answers] == [413] * 4
    assert growth < 20 * MIB


def test_a_declared_50_mb_body_is_413_before_a_byte_of_it_is_sent(server, note):
    with Raw(server.port) as raw:
        raw.send(HEAD + b"Content-Length: %d\r\n\r\n" % (50 * MIB))
        answer = raw.response(timeout=5)
    note(status_of(answer))
    assert status_of(answer) == 413 and b"2,097,152" in body_of(answer)


def test_a_body_just_over_the_limit_with_its_length_is_413(server, http, note):
    pairs = b'{"user_id": 1, "movie_id": 1},' * (2 * MIB // 30 + 10)
    body = b'{"pairs": [' + pairs[:-1] + b"]}"
    response = http.post("/predictions", content=body, headers=JSON)
    note(response.status_code)
    assert response.status_code == 413 and response.json()["detail"].startswith("request body")


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                     "application/json; charset=latin-1", "application/jsonx"],
)  # fmt: skip
def test_a_body_that_is_not_declared_json_is_415(server, http, note, content_type):
    headers = {} if content_type is None else {"content-type": content_type}
    body = b'{"pairs": [{"user_id": 1, "movie_id": 1}]}'
    response = http.post("/predictions", content=body, headers=headers)
    note(response.status_code)
    assert response.status_code == 415 and "application/json" in response.json()["detail"]


def test_a_compressed_body_is_415_not_inflated(server, http, note):
    bomb = gzip.compress(b'{"pairs": [' + b" " * (64 * MIB) + b"]}")
    response = http.post(
        "/predictions", content=bomb, headers={**JSON, "content-encoding": "gzip"}
    )
    note(response.status_code)
    assert response.status_code == 415
    spelled = {"content-type": "Application/JSON; charset=UTF-8", "content-encoding": "identity"}
    assert http.post("/predictions", content=b'{"pairs": []}', headers=spelled).status_code == 200


@pytest.mark.parametrize(
    "codings",
    [b"gzip, chunked", b"deflate,chunked", b"br, chunked",
     b"gzip\r\nTransfer-Encoding: chunked"],  # one list, in two header lines
)  # fmt: skip
def test_a_body_compressed_as_a_transfer_coding_is_415_too(server, note, codings):
    body = gzip.compress(b'{"pairs": []}')
    with Raw(server.port) as raw:
        raw.send(HEAD + b"Transfer-Encoding: " + codings + b"\r\n\r\n" + chunk(body) + chunk(b""))
        answer = raw.response(timeout=5)
    note(status_of(answer))
    assert status_of(answer) == 415 and b"compressed" in body_of(answer)


def test_a_client_that_leaves_mid_body_is_one_info_line_and_a_499(server, note):
    lines_before = server.log().count("\n")
    for _ in range(3):
        with Raw(server.port) as raw:
            raw.send(HEAD + b"Content-Length: 100000\r\n\r\n" + b'{"pairs": [' + b" " * 5000)
            time.sleep(0.2)
    time.sleep(0.5)
    new = server.log().splitlines()[lines_before:]
    note("499")
    closed = [line for line in new if "closed the connection" in line]
    assert len(closed) == 3 and all("499" in line for line in closed), new
    assert not any("Traceback" in line or "ERROR" in line for line in new), new
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'route="/predictions",status="499"' in metrics


def test_a_body_that_stalls_is_408(server, note):
    with Raw(server.port) as raw:
        raw.send(HEAD + b"Content-Length: 1000\r\n\r\n" + b'{"pairs": [')
        started = time.monotonic()
        answer = raw.response(timeout=5)
    note(status_of(answer))
    assert status_of(answer) == 408 and b"1.5 s" in body_of(answer)
    assert time.monotonic() - started < 4


def test_a_body_sent_a_byte_a_second_is_408_at_the_deadline(server, note):
    with Raw(server.port) as raw:
        raw.send(CHUNKED)
        started = time.monotonic()
        while not raw.answered() and time.monotonic() - started < 5 and raw.send(chunk(b" ")):
            time.sleep(0.3)
        answer = raw.response(timeout=2)
    note(status_of(answer))
    assert status_of(answer) == 408
    assert time.monotonic() - started < 4


# -- ids -------------------------------------------------------------------------------------
@pytest.mark.parametrize("user_id", [2**64, 2**63, -(2**63) - 1, 10**30, 1.5, True, None, [1]])
def test_a_body_id_that_cannot_be_an_id_is_422_never_500(server, http, note, user_id):
    pairs = [{"user_id": 1, "movie_id": 1}] * 500 + [{"user_id": user_id, "movie_id": 1}]
    response = http.post("/predictions", json={"pairs": pairs})
    note(response.status_code)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "pairs", 500, "user_id"]


def test_unknown_body_ids_are_reported_per_pair_as_get_reports_them(server, http, note):
    pairs = [
        {"user_id": 1, "movie_id": 1}, {"user_id": "abc", "movie_id": 1},
        {"user_id": 1, "movie_id": 999999}, {"user_id": 2**63 - 1, "movie_id": "x"},
    ]  # fmt: skip
    got = http.post("/predictions", json={"pairs": pairs}).json()["predictions"]
    note(200)
    assert [p.get("unknown") for p in got] == [None, ["user"], ["movie"], ["user", "movie"]]
    assert [p["fallback"] for p in got] == [False, True, True, True]
    for pair in pairs[1:]:
        path = f"/predictions/{pair['user_id']}/{pair['movie_id']}"
        assert http.get(path).status_code == 404, path


def test_a_pair_gets_the_same_answer_alone_and_in_any_batch(server, http, note):
    odd = [{"user_id": u, "movie_id": 1} for u in ("+1", "01", " 1", "1", 1, "1.0")]
    alone = [http.post("/predictions", json={"pairs": [p]}).json()["predictions"][0] for p in odd]
    together = http.post("/predictions", json={"pairs": odd}).json()["predictions"]
    with_junk = http.post("/predictions", json={"pairs": [*odd, {"user_id": "zz", "movie_id": 1}]})
    note(200)
    assert together == alone == with_junk.json()["predictions"][:-1]
    assert [p.get("unknown") for p in alone] == [["user"]] * 3 + [None, None, ["user"]]


def test_ids_come_back_as_the_data_set_spells_them(server, http, note):
    got = http.post("/predictions", json={"pairs": [{"user_id": "1", "movie_id": "1"}]}).json()
    one = http.get("/predictions/1/1").json()
    note(200)
    assert got["predictions"][0]["user_id"] == one["user_id"] == 1
    assert got["predictions"][0]["movie_id"] == one["movie_id"] == 1


@pytest.mark.parametrize(
    "path",
    # 2**63, "+1", "1.0" or "-0" were 404 before: now "01" and " 1" are no ids either.
    ["/recommendations/01", "/recommendations/%201", "/feature/%2001", "/predictions/1/01",
     "/v1/movies/01", "/v1/users/01/history", "/v1/movies/popular?user_id=01"],
)  # fmt: skip
def test_odd_ids_in_paths_and_queries_are_404_on_every_route(server, http, note, path):
    response = http.get(path)
    note(response.status_code)
    assert response.status_code == 404 and "unknown" in response.json()["detail"]


def test_an_id_longer_than_any_id_is_422(server, http, note):
    response = http.get(f"/recommendations/{'7' * 300}")
    note(response.status_code)
    assert response.status_code == 422


# -- queries ---------------------------------------------------------------------------------
def test_n_on_the_seed_endpoint_is_honoured_or_422(server, http, note):
    assert len(http.get("/recommendations/1", params={"n": 3}).json()["items"]) == 3
    assert len(http.get("/feature/1", params={"n": 2}).json()["feature"][0]["histories"]) == 2
    statuses = [http.get("/recommendations/1", params={"n": n}).status_code
                for n in (1_000_000, 0, -1, "x")]  # fmt: skip
    note(",".join(map(str, statuses)))
    assert statuses == [422] * 4


def test_repeated_query_values_count_once_and_are_bounded(server, http, note):
    once = http.get("/v1/movies/popular", params={"genre": "Drama"})
    repeated = http.get("/v1/movies/popular", params={"genre": ["Drama"] * 600})
    distinct = [f"Drama{'x' * k}" for k in range(40)]
    too_many = http.get("/v1/movies/popular", params={"genre": distinct})
    note(f"{repeated.status_code},{too_many.status_code}")
    assert repeated.status_code == 200 and repeated.json() == once.json()
    assert too_many.status_code == 422


def test_an_unknown_genre_and_a_crossed_year_range_are_422(server, http, note):
    genre = http.get("/v1/users/1/recommendations", params={"genre": "Nope"})
    years = http.get("/v1/movies/popular", params={"year_min": 2000, "year_max": 1990})
    note(f"{genre.status_code},{years.status_code}")
    assert genre.status_code == 422 and "unknown genre 'Nope'" in genre.text
    assert years.status_code == 422 and years.json()["detail"][0]["loc"] == ["query", "year_min"]


# -- the request head ------------------------------------------------------------------------
def test_a_16_mb_header_is_431_after_its_first_kilobytes(server, note):
    before = server.rss()
    with Raw(server.port) as raw:
        raw.send(b"GET /health/live HTTP/1.1\r\nHost: t\r\nX-Big: ")
        sent = 0
        while sent < 16 * MIB and not raw.answered() and raw.send(b"a" * 65536):
            sent += 65536
        answer = raw.response()
    growth = server.rss() - before
    note(status_of(answer))
    assert status_of(answer) == 431 and b"16,384" in body_of(answer)
    assert sent < 8 * MIB and growth < 20 * MIB  # what the kernel buffers, not the server


def test_more_than_100_headers_is_431(server, http, note):
    response = http.get("/health/live", headers={f"x-h{k}": "1" for k in range(120)})
    note(response.status_code)
    assert response.status_code == 431 and "100" in response.json()["detail"]


def test_a_url_over_8_kb_is_414(server, http, note):
    response = http.get("/recommendations/1", params={"pad": "x" * 9000})
    note(response.status_code)
    assert response.status_code == 414 and response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "request_line",
    [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET /\x00 HTTP/1.1\r\n\r\n",
     b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
     b"POST /predictions HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n",
     CHUNKED.replace(b"Transfer", b"Content-Length: 5\r\nTransfer") + b"0\r\n\r\n",
     HEAD + b"Content-Length: -1\r\n\r\n", HEAD + b"Content-Length: 1" + b"0" * 30 + b"\r\n\r\n",
     b"GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n", b"GET / HTTP/1.1\r\nX-A: a\r\n folded\r\n\r\n",
     CHUNKED + b"zz\r\n{}\r\n0\r\n\r\n", CHUNKED + b"2\r\n{}\r\n0\r\nX-Trailer: 1\x00\r\n\r\n"],
)  # fmt: skip
def test_a_malformed_request_is_a_json_400(server, note, request_line):
    with Raw(server.port) as raw:
        raw.send(request_line)
        answer = raw.response(timeout=5)
    note(status_of(answer))
    assert status_of(answer) == 400 and orjson.loads(body_of(answer))["detail"]


def test_headers_sent_slowly_are_408(server, note):
    with Raw(server.port) as raw:
        raw.send(b"GET /health/live HTTP/1.1\r\nHost: t\r\n")
        started = time.monotonic()
        while not raw.answered() and time.monotonic() - started < 5 and raw.send(b"X-A: 1\r\n"):
            time.sleep(0.2)
        answer = raw.response(timeout=2)
    note(status_of(answer))
    assert status_of(answer) == 408 and b"headers" in body_of(answer)
    assert time.monotonic() - started < 3


def test_an_upgrade_request_is_plain_http_and_logs_nothing(server, note):
    lines_before = server.log().count("\n")
    statuses = []
    for upgrade in (b"websocket", b"h2c", b"nonsense"):
        with Raw(server.port) as raw:
            raw.send(b"GET /health/live HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
                     b"Upgrade: " + upgrade + b"\r\n\r\n")  # fmt: skip
            statuses.append(status_of(raw.response(timeout=5)))
    note(",".join(map(str, statuses)))
    assert statuses == [200] * 3
    assert not [line for line in server.log().splitlines()[lines_before:] if "WARNING" in line]


def test_a_silent_connection_is_closed(server, note):
    with Raw(server.port) as raw:
        closed = raw.closed_by_server(timeout=4)
    note("closed" if closed else "open")
    assert closed


def test_no_answer_has_a_server_header(server, http, note):
    responses = [http.get("/health/live"), http.get("/nope"), http.get("/recommendations/x")]
    with Raw(server.port) as raw:
        raw.send(b"GARBAGE\r\n\r\n")
        refused = raw.response(timeout=5)
    note("-")
    assert all("server" not in r.headers for r in responses)
    assert header(refused, "server") is None and header(refused, "date")


def test_pipelined_requests_are_all_answered_without_a_server_header(server, note):
    body = b'{"pairs": [{"user_id": 1, "movie_id": 1}]}'
    post = HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body
    get = b"GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n"
    with Raw(server.port) as raw:
        raw.send(get + post + get + post)
        raw.sock.settimeout(5)
        answers = b""
        while answers.count(b"HTTP/1.1 ") < 4 or not answers.endswith(b"}"):
            answers += raw.sock.recv(1 << 20) or b"}"  # (closed: stop)
    statuses = [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", answers)]
    note(",".join(map(str, statuses)))
    assert statuses == [200] * 4 and answers.count(b'"count":1') == 2
    assert b"server:" not in answers.lower()


def test_requests_ahead_of_a_malformed_one_are_answered_before_its_400(server, note):
    get = b"GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n"
    slow = b"GET /recommendations/1?n=50 HTTP/1.1\r\nHost: t\r\n\r\n"
    with Raw(server.port) as raw:
        raw.send(slow + get + b"NOT HTTP AT ALL\r\n\r\n")
        raw.sock.settimeout(5)
        answers = b""
        while chunk_ := raw.sock.recv(1 << 20):  # to the close that follows the 400
            answers += chunk_
    statuses = [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", answers)]
    note(",".join(map(str, statuses)))
    assert statuses == [200, 200, 400]
    assert answers.endswith(b'{"detail":"invalid HTTP request"}')


# -- connections -----------------------------------------------------------------------------
def test_connections_over_the_limit_are_503(server, note):
    sockets = [Raw(server.port) for _ in range(30)]
    try:
        time.sleep(0.3)
        refused = [raw.response(timeout=0.5) for raw in sockets if raw.answered()]
    finally:
        for raw in sockets:
            raw.sock.close()
    note(",".join(sorted({str(status_of(r)) for r in refused})))
    assert 6 <= len(refused) <= 30 - 20  # 24 allowed, less those of earlier tests still open
    assert all(status_of(r) == 503 and header(r, "retry-after") for r in refused)


def test_requests_over_the_concurrency_limit_are_503(server, note):
    uploads = [Raw(server.port) for _ in range(4)]
    try:
        for raw in uploads:  # four requests in progress, each waiting for its body
            raw.send(HEAD + b"Content-Length: 100\r\n\r\n{")
        time.sleep(0.2)
        busy = httpx.get(f"{server.url}/health/live", timeout=5)
    finally:
        for raw in uploads:
            raw.sock.close()
    note(busy.status_code)
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    assert "too many requests" in busy.json()["detail"]
    time.sleep(0.3)
    assert httpx.get(f"{server.url}/health/live").status_code == 200


# -- CORS ------------------------------------------------------------------------------------
def test_cors_preflights_follow_recsys_cors_origins(server, http, note):
    ask = {"access-control-request-method": "POST",
           "access-control-request-headers": "content-type"}  # fmt: skip
    allowed = http.options("/predictions", headers={"origin": "http://allowed.example", **ask})
    other = http.options("/predictions", headers={"origin": "http://evil.example", **ask})
    simple = http.get("/health/live", headers={"origin": "http://allowed.example"})
    note(f"{allowed.status_code},{other.status_code}")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://allowed.example"
    assert other.status_code == 400 and "origin" in other.json()["detail"]
    assert simple.headers["access-control-allow-origin"] == "http://allowed.example"


# -- what the server tells ----------------------------------------------------------------
def test_the_model_description_names_no_server_path(server, http, artifact, note):
    response = http.get("/v1/model")
    note(response.status_code)
    assert response.json()["model"] == "mf"
    assert str(artifact.parent) not in response.text and '"/' not in response.text


# -- after everything ------------------------------------------------------------------------
def test_zz_metrics_count_no_server_error_over_the_whole_suite(server, http):
    metrics = http.get("/metrics").text
    counted = [line for line in metrics.splitlines() if line.startswith("recsys_http_requests")]
    assert counted and not [line for line in counted if 'status="5' in line], counted
    assert "Traceback" not in server.log()
    width = max(len(case) for case, _, _ in REPORT)
    print(f"\n{'case':<{width}}  status  RSS growth (MB)")
    for case, status, growth in REPORT:
        print(f"{case:<{width}}  {status:<6}  {growth:+.1f}")
