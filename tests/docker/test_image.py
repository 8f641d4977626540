"""The Docker image: builds (or takes RECSYS_IMAGE), runs as a non-root user, serves the demo
model with `docker run -p 8000:8000 IMAGE`, passes its HEALTHCHECK, and serves real data from a
volume with RECSYS_DATA. Skipped when no Docker engine answers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def engine_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


@pytest.fixture(scope="module")
def image() -> str:
    if not engine_available():
        if os.environ.get("RECSYS_REQUIRE_DOCKER"):  # CI: the image test must run, not skip
            pytest.fail("RECSYS_REQUIRE_DOCKER is set but no Docker engine answers")
        pytest.skip("no Docker engine (run ../shared/tools/docker-up)")
    tag = os.environ.get("RECSYS_IMAGE")
    if tag:
        return tag
    tag = "recsys:test"
    build = subprocess.run(
        ["docker", "build", "-t", tag, str(ROOT)],
        capture_output=True, text=True, timeout=3600, env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return tag


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Container:
    def __init__(self, image: str, *options: str):
        self.name = f"recsys-test-{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        command = ["docker", "run", "-d", "--name", self.name,
                   "-p", f"127.0.0.1:{self.port}:8000", *options, image]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=60)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            state = self.inspect("{{.State.Status}}")
            if state == "exited":
                pytest.fail(f"container exited: {self.logs()}")
            time.sleep(0.5)
        pytest.fail(f"container not ready: {self.logs()}")

    def inspect(self, template: str) -> str:
        done = subprocess.run(["docker", "inspect", "-f", template, self.name],
                              capture_output=True, text=True, timeout=30)  # fmt: skip
        return done.stdout.strip()

    def logs(self) -> str:
        done = subprocess.run(["docker", "logs", self.name], capture_output=True, text=True)
        return (done.stdout + done.stderr)[-3000:]

    def remove(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True, timeout=60)


def test_the_image_serves_the_demo_model_as_a_non_root_user(image):
    container = Container(image)
    try:
        started = time.monotonic()
        container.wait_ready()
        assert time.monotonic() - started < 30  # the demo model was trained at build time
        with httpx.Client(base_url=container.url, timeout=10) as http:
            items = http.get("/recommendations/1").json()["items"]
            assert len(items) == 10 and all(isinstance(i["id"], str) for i in items)
            info = http.get("/v1/model").json()
            assert info["model"] == "ranker" and info["data"]["name"] == "demo"
            assert info["metrics"]["rmse"] > 0
            assert http.get("/recommendations/999999").status_code == 404
            pairs = {"pairs": [{"user_id": 1, "movie_id": 1}]}
            assert http.post("/predictions", json=pairs).json()["count"] == 1
        command = ["docker", "exec", container.name, "id", "-u"]
        user = subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip()
        assert user not in ("", "0")
        # Bytecode ships in the image: nothing the service imports is compiled at start-up.
        compiled = ("import os, sys, recsys.api.app, recsys.cli; print(sorted(m.__name__ for m in "
                    "list(sys.modules.values()) if getattr(m, '__cached__', None) and "
                    "not os.path.exists(m.__cached__)))")  # fmt: skip
        command = ["docker", "exec", container.name, "python", "-c", compiled]
        missing = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert missing.stdout.strip() == "[]", missing.stdout[-2000:] + missing.stderr[-2000:]
        assert container.inspect("{{.Config.Healthcheck.Test}}")
        deadline = time.monotonic() + 90
        while container.inspect("{{.State.Health.Status}}") != "healthy":
            assert time.monotonic() < deadline, container.logs()
            time.sleep(2)
    finally:
        container.remove()


def test_a_volume_and_recsys_data_serve_real_data(image, tmp_path):
    data = tmp_path / "ml"
    data.mkdir()
    rows = [
        f"{u},{m},{1 + (u * m) % 5}.0,{1_000_000 + u * 100 + m}\n"
        for u in range(1, 31)
        for m in range(1, 21)
        if (u + m) % 3
    ]
    (data / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "".join(rows))
    (data / "movies.csv").write_text(
        "movieId,title,genres\n"
        + "".join(f'{m},"Movie {m}, The ({1990 + m})",Drama|Comedy\n' for m in range(1, 21))
    )
    data.chmod(0o755)
    container = Container(image, "-v", f"{data}:/data:ro", "-e", "RECSYS_DATA=/data")
    try:
        container.wait_ready()
        with httpx.Client(base_url=container.url, timeout=10) as http:
            info = http.get("/v1/model").json()
            assert info["data"]["name"] == "data" and info["data"]["ratings"] == 400
            movie = http.get("/v1/movies/3").json()
            assert movie["title"] == "Movie 3, The (1993)" and movie["year"] == 1993
            items = http.get("/recommendations/1").json()["items"]
            unseen = {str(m) for m in range(1, 21) if (1 + m) % 3 == 0}
            assert {i["id"] for i in items} == unseen  # all 7 movies user 1 has not rated
    finally:
        container.remove()
