"""The real server: `recsys serve` and `uvicorn server:app` in a subprocess on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from tests.api.live_server import RECSYS_SERVE, UVICORN, LiveServer


@pytest.mark.parametrize("command", [RECSYS_SERVE, UVICORN], ids=["recsys serve", "uvicorn"])
def test_the_server_process_serves_the_artifact(tmp_path, artifact, model, command):
    server = LiveServer({"RECSYS_MODEL": str(artifact)}, tmp_path / "server.log", command)
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.url, timeout=5) as http:
            items = http.get("/recommendations/1").json()["items"]
            assert [i["id"] for i in items] == [str(i) for i in model.recommend(1, 10)[0]]
            assert http.get("/v1/model").json()["model"] == "mf"
            batch = http.post("/predictions", json={"pairs": [{"user_id": 1, "movie_id": 1}]})
            assert batch.json()["count"] == 1
            assert http.get("/recommendations/999999").status_code == 404
            assert "recsys_http_requests_total" in http.get("/metrics").text
    finally:
        server.stop()


def test_a_corrupt_artifact_stops_the_server_with_the_reason(tmp_path):
    folder = tmp_path / "artifact"
    folder.mkdir()
    (folder / "artifact.json").write_text("{not json")
    server = LiveServer({"RECSYS_MODEL": str(folder)}, tmp_path / "server.log")
    try:
        server.process.wait(60)
    finally:
        server.stop()
    assert server.process.returncode != 0
    output = server.log()
    assert "cannot start the recsys service" in output and "unreadable" in output
