"""Hostile clients at the edges of a server's life, and under plain `uvicorn server:app`:

* SIGTERM with an upload stalled mid-body ends the process at once, while a request already
  received is still answered;
* uvicorn without `recsys serve` still gets every limit that lives in the app (body size as the
  bytes arrive, JSON bodies, body timeout), since those are not the server's.
"""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from tests.api.live_server import (
    CHUNKED,
    HEAD,
    MIB,
    UVICORN,
    LiveServer,
    Raw,
    status_of,
    stream_chunked,
)


def test_sigterm_with_a_stalled_upload_exits_at_once_and_answers_what_it_received(
    tmp_path, artifact
):
    env = {"RECSYS_MODEL": str(artifact), "RECSYS_BODY_TIMEOUT": "60"}
    server = LiveServer(env, tmp_path / "server.log").wait_ready()
    pairs = b'{"pairs": [' + b",".join([b'{"user_id": 1, "movie_id": 1}'] * 10_000) + b"]}"
    try:
        stalled, received = Raw(server.port), Raw(server.port)
        stalled.send(HEAD + b"Content-Length: 1000\r\n\r\n" + b'{"pairs": [')
        received.send(HEAD + b"Content-Length: %d\r\n\r\n" % len(pairs) + pairs)
        time.sleep(0.1)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        answer = received.response(timeout=10)
        server.process.wait(20)
        took = time.monotonic() - started
        stalled.sock.close()
        received.sock.close()
    finally:
        server.stop()
    assert took < 3, f"took {took:.1f} s to exit"
    assert status_of(answer) == 200 and b'"count":10000' in answer
    log = server.log()
    assert "Traceback" not in log and "Cancel" not in log, log


@pytest.fixture(scope="module")
def plain_uvicorn(tmp_path_factory, artifact):
    env = {"RECSYS_MODEL": str(artifact), "RECSYS_BODY_TIMEOUT": "1.5"}
    log = tmp_path_factory.mktemp("uvicorn") / "server.log"
    server = LiveServer(env, log, UVICORN).wait_ready()
    yield server
    server.stop()


def test_plain_uvicorn_still_answers_a_50_mb_chunked_body_413_without_memory_growth(
    plain_uvicorn,
):
    before = plain_uvicorn.rss()
    answer, sent = stream_chunked(plain_uvicorn.port, 50 * MIB)
    assert status_of(answer) == 413 and sent < 16 * MIB
    assert plain_uvicorn.rss() - before < 20 * MIB


def test_plain_uvicorn_still_requires_json_bodies_and_times_them_out(plain_uvicorn):
    text = httpx.post(f"{plain_uvicorn.url}/predictions", content=b"{}", headers={})
    assert text.status_code == 415
    with Raw(plain_uvicorn.port) as raw:
        raw.send(CHUNKED + b"1\r\n{\r\n")
        assert status_of(raw.response(timeout=5)) == 408
    metrics = httpx.get(f"{plain_uvicorn.url}/metrics").text
    assert 'status="5' not in metrics
