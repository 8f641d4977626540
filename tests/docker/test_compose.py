"""compose.yaml: PostgreSQL, two replicas sharing one artifact volume, nginx in front. Brings the
stack up under its own project name and host ports, then: a rating posted through nginx is read
back from both replicas by their own ports within 1 s; a model rolled out to one replica, then
the other, drops no request made through nginx; a write without the key gets 401 through nginx.
Skipped when no Docker engine or no `docker compose` answers, unless RECSYS_REQUIRE_DOCKER is set.
The service image is built from the working tree as `recsys:test` (the image test's tag, so the
two share one build) unless RECSYS_IMAGE names one."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FOLD_IN_BOUND = 1.0  # seconds from a write's 2xx to both replicas serving it (issue 11)


def engine_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def compose_command() -> list[str] | None:
    """`docker compose` (v2, or the v1 shim of `COMPOSE=1 docker-up`), else `docker-compose`."""
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        done = subprocess.run([*command, "version"], capture_output=True, timeout=30)
        if done.returncode == 0:
            return command
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """One compose project: its own name, host ports, API key and database password."""

    def __init__(self, compose: list[str]):
        self.project = f"recsys-test-{uuid.uuid4().hex[:8]}"
        self.api_key = secrets.token_urlsafe(24)
        ports = {"RECSYS_PORT": free_port(), "RECSYS_REPLICA_1_PORT": free_port(),
                 "RECSYS_REPLICA_2_PORT": free_port()}  # fmt: skip
        self.env = {k: v for k, v in os.environ.items() if k != "RECSYS_READ_KEY"}
        self.env.update({k: str(v) for k, v in ports.items()})
        self.env.update(
            RECSYS_IMAGE=os.environ.get("RECSYS_IMAGE", "recsys:test"),
            RECSYS_API_KEY=self.api_key,
            RECSYS_DB_PASSWORD=secrets.token_hex(16),
            DOCKER_BUILDKIT="0",  # the image test builds the same way: one layer cache for both
            COMPOSE_DOCKER_CLI_BUILD="0",
        )
        self.command = [*compose, "-f", str(ROOT / "compose.yaml"), "-p", self.project]
        self.nginx = f"http://127.0.0.1:{ports['RECSYS_PORT']}"
        self.replicas = {
            "recsys-1": f"http://127.0.0.1:{ports['RECSYS_REPLICA_1_PORT']}",
            "recsys-2": f"http://127.0.0.1:{ports['RECSYS_REPLICA_2_PORT']}",
        }
        self.auth = {"Authorization": f"Bearer {self.api_key}"}

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([*self.command, *args], capture_output=True, text=True,
                              env=self.env, cwd=ROOT, timeout=timeout)  # fmt: skip

    def check(self, *args: str, timeout: float = 600) -> str:
        done = self.run(*args, timeout=timeout)
        output = done.stdout[-3000:] + done.stderr[-3000:]
        assert done.returncode == 0, f"compose {' '.join(args)}:\n{output}"
        return done.stdout

    def logs(self) -> str:
        done = self.run("logs", "--no-color", "--tail", "40", timeout=60)
        return (done.stdout + done.stderr)[-6000:]

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        for url in [self.nginx, *self.replicas.values()]:
            while True:
                try:
                    if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"{url} not ready in {timeout:.0f} s:\n{self.logs()}")
                time.sleep(0.5)

    def down(self) -> None:
        self.run("down", "-v", "--remove-orphans", "--timeout", "5", timeout=300)


@pytest.fixture(scope="module")
def stack():
    required = os.environ.get("RECSYS_REQUIRE_DOCKER")  # CI: this test must run, not skip
    compose = compose_command() if engine_available() else None
    if compose is None:
        reason = "no Docker engine with `docker compose` (run COMPOSE=1 ../shared/tools/docker-up)"
        if required:
            pytest.fail(f"RECSYS_REQUIRE_DOCKER is set but {reason}")
        pytest.skip(reason)
    stack = Stack(compose)
    started = time.monotonic()
    # The service image is built by the `artifact` service; RECSYS_IMAGE means it is built already.
    stack.check("build", *(["postgres", "nginx"] if "RECSYS_IMAGE" in os.environ else []),
                timeout=3600)  # fmt: skip
    built = time.monotonic()
    try:
        stack.check("up", "-d", "--no-build")
        stack.wait_ready()
        print(f"\ncompose: built in {built - started:.1f} s, up and ready in "
              f"{time.monotonic() - built:.1f} s")  # fmt: skip
        yield stack
    finally:
        stack.down()


def get_json(http: httpx.Client, url: str) -> tuple[int, dict]:
    response = http.get(url)
    return response.status_code, response.json() if response.status_code == 200 else {}


def rated_movies(history: dict) -> list:
    """The movie ids of a GET /v1/users/{id}/history answer: `items` with `id` as the README
    shows it (`ratings` with `movie_id` in the brief of issue 11 part 6)."""
    if "items" in history:
        return [entry["id"] for entry in history["items"]]
    return [entry["movie_id"] for entry in history["ratings"]]


def watch_fold_in(
    url: str, user: int, movie, acknowledged: float, bound: float, seen: dict, name: str
) -> None:
    """Polls one replica until its history has the rating and its recommendations say
    folded_in; records the seconds since the write's 2xx and the movies recommended."""
    with httpx.Client(base_url=url, timeout=5) as replica:
        while time.monotonic() < acknowledged + bound:
            status, history = get_json(replica, f"/v1/users/{user}/history")
            if status == 200 and movie in rated_movies(history):
                status, recommendations = get_json(replica, f"/v1/users/{user}/recommendations")
                if status == 200 and recommendations["folded_in"] is True:
                    items = [str(i["id"]) for i in recommendations["items"]]
                    seen[name] = (time.monotonic() - acknowledged, items)
                    return
            time.sleep(0.01)


def test_a_write_without_the_key_gets_401_through_nginx(stack):
    user = 2_000_000_000 + secrets.randbelow(10**8)
    body = {"ratings": [{"movie_id": 1, "rating": 4.0}]}
    with httpx.Client(base_url=stack.nginx, timeout=10) as http:
        assert http.post(f"/v1/users/{user}/ratings", json=body).status_code == 401
        wrong = {"Authorization": "Bearer " + secrets.token_urlsafe(24)}
        assert http.post(f"/v1/users/{user}/ratings", json=body, headers=wrong).status_code == 401
        assert http.post("/v1/admin/model", json={"path": "/artifacts/current"}).status_code == 401
        # nothing was stored: the user is still unknown
        assert http.get(f"/v1/users/{user}/history").status_code == 404


def test_a_rating_posted_through_nginx_is_served_by_both_replicas_within_a_second(stack):
    user = 1_000_000_000 + secrets.randbelow(10**8)  # a user the model has never seen
    with httpx.Client(base_url=stack.nginx, timeout=10) as http:
        movie = http.get("/v1/movies/popular", params={"n": 1}).json()["items"][0]["id"]
        rating = {"movie_id": movie, "rating": 4.0, "timestamp": int(time.time())}
        response = http.post(f"/v1/users/{user}/ratings", json={"ratings": [rating]},
                             headers=stack.auth)  # fmt: skip
    acknowledged = time.monotonic()
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 1

    # Each replica polled by its own port from its own thread (one slow answer must not delay the
    # other's figure), past the bound too, so that a miss prints its figure.
    seen: dict[str, float] = {}
    threads = [threading.Thread(target=watch_fold_in, args=(url, user, movie, acknowledged,
                                                            5 * FOLD_IN_BOUND, seen, name))
               for name, url in stack.replicas.items()]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("\nfold-in, 2xx to served: "
          + ", ".join(f"{name} {seen[name][0] * 1000:.0f} ms" if name in seen else f"{name} never"
                      for name in stack.replicas))  # fmt: skip
    assert set(seen) == set(stack.replicas)
    slowest = max(elapsed for elapsed, _ in seen.values())
    assert slowest <= FOLD_IN_BOUND, f"{slowest:.2f} s from the 2xx to both replicas serving it"
    for _, items in seen.values():
        assert items and str(movie) not in items  # a rated movie leaves the list


def hammer(url: str, path: str, stop: threading.Event, outcomes: Counter, bound: float) -> None:
    """GET `path` through nginx back to back until `stop` (or `bound` seconds): counts statuses,
    and transport errors as "error"."""
    deadline = time.monotonic() + bound
    with httpx.Client(base_url=url, timeout=10) as http:
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                outcomes[http.get(path).status_code] += 1
            except httpx.HTTPError as error:
                outcomes[f"error {type(error).__name__}"] += 1


def test_a_rollout_across_the_replicas_drops_no_request(stack):
    copy = "rm -rf /artifacts/.next && cp -a /artifacts/current /artifacts/.next && " \
           "mv /artifacts/.next /artifacts/next"  # fmt: skip
    stack.check("run", "--rm", "--no-deps", "-T", "artifact", "sh", "-ec", copy, timeout=120)

    stop = threading.Event()
    outcomes: list[Counter] = [Counter(), Counter()]
    clients = [threading.Thread(target=hammer, args=(stack.nginx, "/v1/users/1/recommendations",
                                                     stop, counts, 60))
               for counts in outcomes]  # fmt: skip
    started = time.monotonic()
    for client in clients:
        client.start()
    swaps = {}
    try:
        time.sleep(0.5)
        for name, url in stack.replicas.items():
            called = time.monotonic()
            response = httpx.post(f"{url}/v1/admin/model", json={"path": "/artifacts/next"},
                                  headers=stack.auth, timeout=30)  # fmt: skip
            assert response.status_code in (200, 202), response.text  # 200: live on answer
            deadline = called + 30
            while httpx.get(f"{url}/v1/model", timeout=5).json().get("artifact") != "next":
                assert time.monotonic() < deadline, f"{name} did not swap:\n{stack.logs()}"
                time.sleep(0.05)
            swaps[name] = time.monotonic() - called
        time.sleep(0.5)
    finally:
        stop.set()
        for client in clients:
            client.join()
    total = sum(outcomes, Counter())
    print(f"\nrollout: {sum(total.values())} requests through nginx in "
          f"{time.monotonic() - started:.1f} s, {dict(total)}; swapped "
          + ", ".join(f"{name} in {seconds:.2f} s" for name, seconds in swaps.items()))  # fmt: skip
    assert set(total) == {200}, dict(total)
    for url in stack.replicas.values():
        assert httpx.get(f"{url}/v1/model", timeout=5).json()["artifact"] == "next"
