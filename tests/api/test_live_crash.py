"""A real `recsys serve` process: killed with SIGKILL while a client streams 10,000 ratings, every
rating it acknowledged is there after the restart, none twice (SQLite and PostgreSQL); SIGHUP
rolls out the artifact at RECSYS_MODEL again."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import httpx
import numpy as np
import pytest

from recsys.models.registry import make_model
from recsys.service import save_artifact
from recsys.store import open_store
from tests.api.live_server import LiveServer
from tests.databases import database  # noqa: F401

pytestmark = pytest.mark.slow
KEY = "crash-test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
BATCH, TOTAL = 10, 10_000


def serve(artifact, db, log) -> LiveServer:
    env = {"RECSYS_MODEL": str(artifact), "RECSYS_API_KEY": KEY,
           "RECSYS_STATE_DIR": str(db.state_dir)}  # fmt: skip
    if db.url:
        env["RECSYS_DATABASE_URL"] = db.url
    return LiveServer(env, log).wait_ready()


def test_every_acknowledged_rating_survives_a_kill_and_none_is_stored_twice(
    artifact, database, tmp_path, dataset  # noqa: F811
):
    movies = np.unique(dataset.ratings["item_id"].to_numpy())[:BATCH].tolist()
    server = serve(artifact, database, tmp_path / "first.log")
    acknowledged: set[tuple[str, str]] = set()
    failed_batches = 0
    killed = threading.Event()

    def kill_midway():
        while len(acknowledged) < TOTAL // 3:
            time.sleep(0.005)
        server.process.send_signal(signal.SIGKILL)  # no shutdown, no flush: a crash
        server.process.wait()
        killed.set()

    threading.Thread(target=kill_midway, daemon=True).start()
    batch = 0
    client = httpx.Client(headers=AUTH, timeout=10)  # keep-alive, like a real producer
    while batch < TOTAL // BATCH:
        user = 800_000 + batch
        body = {"ratings": [{"movie_id": m, "rating": 3.0, "timestamp": 1_000 + batch}
                            for m in movies]}  # fmt: skip
        try:
            answer = client.post(f"{server.url}/v1/users/{user}/ratings", json=body)
        except httpx.HTTPError:
            failed_batches += 1
            assert killed.wait(30), "the client failed but the server was not killed"
            if server.process.poll() is not None:
                server = serve(artifact, database, tmp_path / "second.log")
            continue  # sent again: an upsert, so a batch that did commit is not doubled
        assert answer.status_code == 200, answer.text
        acknowledged.update((str(user), str(m)) for m in movies)
        batch += 1
    client.close()
    server.stop()
    assert killed.is_set() and failed_batches >= 1
    store = open_store(database.url, database.state_dir)
    table = store.frame()
    store.close()
    stored = set(zip(table["user_id"], table["movie_id"], strict=True))
    assert len(table) == len(stored) == TOTAL  # none twice
    assert acknowledged <= stored and len(acknowledged) == TOTAL
    print(f"\n{database.url or 'sqlite'}: {len(acknowledged)} acknowledged, {len(table)} stored, "
          f"{failed_batches} batch(es) cut off by the kill")  # fmt: skip


def test_sighup_rolls_out_the_artifact_at_recsys_model_again(artifact, database, tmp_path,  # noqa: F811
                                                             dataset):  # fmt: skip
    live = tmp_path / "current"
    shutil.copytree(artifact, live)
    server = serve(live, database, tmp_path / "server.log")
    try:
        assert httpx.get(f"{server.url}/v1/model").json()["model"] == "mf"
        shutil.rmtree(live)
        save_artifact(make_model("baseline").fit(dataset), dataset, live)
        os.kill(server.process.pid, signal.SIGHUP)
        deadline = time.monotonic() + 20
        while httpx.get(f"{server.url}/v1/model").json()["model"] != "baseline":
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
        assert server.process.poll() is None
    finally:
        server.stop()
