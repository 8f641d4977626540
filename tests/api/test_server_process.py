"""The real server: `uvicorn server:app` in a subprocess on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "server:app", "--host", "127.0.0.1", "--port",
         str(port), "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


def wait_ready(process: subprocess.Popen, url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}: {process.stdout.read()}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("server did not become ready")


def test_the_server_process_serves_the_artifact(artifact, model):
    process, url = start({"RECSYS_MODEL": str(artifact)})
    try:
        wait_ready(process, url)
        with httpx.Client(base_url=url, timeout=5) as http:
            items = http.get("/recommendations/1").json()["items"]
            assert [i["id"] for i in items] == [str(i) for i in model.recommend(1, 10)[0]]
            assert http.get("/v1/model").json()["model"] == "mf"
            batch = http.post("/predictions", json={"pairs": [{"user_id": 1, "movie_id": 1}]})
            assert batch.json()["count"] == 1
            assert http.get("/recommendations/999999").status_code == 404
            assert "recsys_http_requests_total" in http.get("/metrics").text
    finally:
        process.terminate()
        process.wait(10)


def test_a_corrupt_artifact_stops_the_server_with_the_reason(tmp_path):
    (tmp_path / "artifact.json").write_text("{not json")
    process, _ = start({"RECSYS_MODEL": str(tmp_path)})
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode != 0
    assert "cannot start the recsys service" in output and "unreadable" in output
