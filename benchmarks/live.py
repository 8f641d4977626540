"""Live-service benchmarks (issue 11): writes, fold-in latency, a model swap under load, a mixed
soak. Loopback only, every phase bounded in time and in requests.

    python benchmarks/live.py --artifact ART                      # SQLite in a temp state dir
    python benchmarks/live.py --artifact ART --database-url postgresql+psycopg://…
    python benchmarks/live.py --artifact ART --soak 300           # the final 5-minute soak

Starts `recsys serve` on 127.0.0.1 with a fresh store and a key, and prints:
- one-rating POST p50/p99 (1 client), and ratings/s in batches of 100 at 4 clients;
- /v1/users/{id}/recommendations p50 for a user folded in from 20 ratings (the first request
  after the write and repeats), beside a known user's, in the same run;
- a swap under 16-client load: failed and 5xx requests, seconds until the new model answers,
  p99 before and during the swap;
- the soak: 80 % reads, 20 % writes at 16 clients; errors, RSS growth, stored = acknowledged.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.service import Server as ServiceServer  # noqa: E402
from benchmarks.service import free_port  # noqa: E402

KEY = "benchmark-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
NEW_USERS = 5_000_000  # ids above every data set's users


class Server(ServiceServer):
    """`benchmarks.service.Server` (memory, stop) started with a key and a store."""

    def __init__(self, artifact: Path, env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "recsys.cli", "-q", "serve", "--host", "127.0.0.1",
                   "--port", str(self.port)]  # fmt: skip
        full = {**os.environ, "RECSYS_MODEL": str(artifact), "RECSYS_API_KEY": KEY, **env}
        self.process = subprocess.Popen(command, cwd=ROOT, env=full)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                if httpx.get(self.url + "/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the server did not become ready")


class Probe:
    """One keep-alive connection through the standard library, for latencies: httpx costs
    about 3 ms a request of its own, more than the server's answer to a known user."""

    def __init__(self, url: str):
        host, port = url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)

    def timed(self, method: str, path: str, body: dict | None = None) -> tuple[float, int, dict]:
        """Seconds from sending to the last byte of the answer, its status and its JSON."""
        data = None if body is None else json.dumps(body)
        headers = {**AUTH, "Content-Type": "application/json"}
        start = time.perf_counter()
        self.connection.request(method, path, body=data, headers=headers)
        answer = self.connection.getresponse()
        content = answer.read()
        return time.perf_counter() - start, answer.status, json.loads(content)

    def close(self) -> None:
        self.connection.close()


def ms(values: list[float], q: float = 50) -> float:
    return round(float(np.percentile(values, q)) * 1e3, 3) if values else float("nan")


def ratings_body(movies, rng, n: int) -> dict:
    chosen = rng.choice(movies, n, replace=False)
    return {"ratings": [{"movie_id": int(m), "rating": float(rng.choice([2.0, 3.5, 4.0, 5.0]))}
                        for m in chosen]}  # fmt: skip


def writes(url: str, movies, seconds: float) -> dict:
    rng = np.random.default_rng(0)
    probe, one = Probe(url), []
    for k in range(300):
        took, status, answer = probe.timed(
            "POST", f"/v1/users/{NEW_USERS + k}/ratings", ratings_body(movies, rng, 1)
        )
        assert status == 200, answer
        one.append(took)
    probe.close()
    stored = [0]
    errors = [0]
    lock = threading.Lock()

    def client(k: int) -> None:
        local = np.random.default_rng(k)
        deadline = time.perf_counter() + seconds
        with httpx.Client(base_url=url, headers=AUTH) as c:
            n = 0
            while time.perf_counter() < deadline and n < 10_000:
                r = c.post(f"/v1/users/{NEW_USERS + 10_000 + k * 10_000 + n}/ratings",
                           json=ratings_body(movies, local, 100))  # fmt: skip
                n += 1
                with lock:
                    if r.status_code == 200:
                        stored[0] += 100
                    else:
                        errors[0] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {"post_1_rating_p50_ms": ms(one), "post_1_rating_p99_ms": ms(one, 99),
            "ratings_per_s_batches_100_4_clients": round(stored[0] / elapsed),
            "write_errors": errors[0], "acknowledged": 300 + stored[0]}  # fmt: skip


def fold_in(url: str, movies, known_user) -> dict:
    """A new user writes 20 ratings; their next request folds them in, the repeats are pages of
    the list kept until their next write; a known user's request beside them."""
    rng = np.random.default_rng(1)
    probe = Probe(url)
    first, repeat, known = [], [], []
    for k in range(60):
        user = NEW_USERS + 900_000 + k
        seconds, status, _ = probe.timed("POST", f"/v1/users/{user}/ratings",
                                         ratings_body(movies, rng, 20))  # fmt: skip
        assert status == 200
        for attempt in range(4):
            seconds, status, answer = probe.timed("GET", f"/v1/users/{user}/recommendations")
            assert status == 200 and answer["folded_in"], answer
            (first if attempt == 0 else repeat).append(seconds)
        seconds, status, _ = probe.timed("GET", f"/v1/users/{known_user}/recommendations")
        assert status == 200
        known.append(seconds)
    probe.close()
    return {"folded_20_first_p50_ms": ms(first[5:]), "folded_20_repeat_p50_ms": ms(repeat[5:]),
            "known_user_p50_ms": ms(known[5:]), "acknowledged": 60 * 20}  # fmt: skip


def swap(url: str, artifact: Path, work: Path, users: list) -> dict:
    """16 clients read while the artifact (a copy, so it is a different folder) is swapped in."""
    second = work / "swapped-artifact"
    if not second.exists():
        shutil.copytree(artifact, second)
    records: list[tuple[float, float, int]] = []  # (start, latency, status)
    lock = threading.Lock()
    stop = time.perf_counter() + 9.0

    def reader(k: int) -> None:
        with httpx.Client(base_url=url, timeout=10) as c:
            n = k
            while time.perf_counter() < stop and n < 200_000:
                t = time.perf_counter()
                try:
                    status = c.get(f"/v1/users/{users[n % len(users)]}/recommendations").status_code
                except httpx.HTTPError:
                    status = 0
                with lock:
                    records.append((t, time.perf_counter() - t, status))
                n += 16

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    time.sleep(3.0)
    called = time.perf_counter()
    with httpx.Client(base_url=url, headers=AUTH, timeout=60) as c:
        answer = c.post("/v1/admin/model", json={"path": str(second)})
        answered = time.perf_counter()
        live = c.get("/v1/model").json()["artifact"]
    for t in threads:
        t.join()
    before = [lat for start, lat, _ in records if start < called]
    during = [lat for start, lat, _ in records if called <= start <= answered + 0.5]
    failed = sum(status == 0 or status >= 500 for *_, status in records)
    return {"swap_status": answer.status_code,
            "swap_new_model_after_s": round(answered - called, 2),
            "swap_live_artifact": live, "swap_requests": len(records), "swap_failed_or_5xx": failed,
            "swap_p99_before_ms": ms(before, 99), "swap_p99_during_ms": ms(during, 99)}  # fmt: skip


def soak(server: Server, movies, users: list, seconds: float) -> dict:
    acknowledged = [0]
    errors = [0]
    lock = threading.Lock()
    rss_start = server.rss_mib()
    stop = time.perf_counter() + seconds

    def client(k: int) -> None:
        rng = np.random.default_rng(100 + k)
        n = 0
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as c:
            while time.perf_counter() < stop and n < 1_000_000:
                n += 1
                try:
                    if rng.random() < 0.2:  # a new (user, movie) each time: one new row
                        user = NEW_USERS + 2_000_000 + k * 1_000_000 + n
                        r = c.post(f"/v1/users/{user}/ratings", json=ratings_body(movies, rng, 1))
                        ok = r.status_code == 200
                        stored = r.json().get("stored", 0) if ok else 0
                    else:
                        user = users[int(rng.integers(len(users)))]
                        r = c.get(f"/v1/users/{user}/recommendations")
                        ok, stored = r.status_code == 200, 0
                except httpx.HTTPError:
                    ok, stored = False, 0
                with lock:
                    errors[0] += not ok
                    acknowledged[0] += stored

    threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"soak_seconds": seconds, "soak_errors": errors[0],
            "soak_rss_growth_pct": round(100 * (server.rss_mib() / rss_start - 1), 2),
            "acknowledged": acknowledged[0]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True, help="a trained artifact (recsys train)")
    parser.add_argument("--database-url", help="a PostgreSQL URL; default SQLite in a temp dir")
    parser.add_argument("--write-seconds", type=float, default=10.0)
    parser.add_argument("--soak", type=float, default=60.0, help="soak seconds (300: final)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="recsys-live-bench-"))
    env = {"RECSYS_STATE_DIR": str(work / "state")}
    if args.database_url:
        env["RECSYS_DATABASE_URL"] = args.database_url
    server = Server(Path(args.artifact), env)
    try:
        movies = [m["id"] for m in httpx.get(server.url + "/v1/movies/popular",
                                             params={"n": 100}).json()["items"]]  # fmt: skip
        users = list(range(1, 400))
        results = {"store": "postgresql" if args.database_url else "sqlite"}
        acknowledged = 0
        for phase in (lambda: writes(server.url, movies, args.write_seconds),
                      lambda: fold_in(server.url, movies, users[0]),
                      lambda: swap(server.url, Path(args.artifact), work, users),
                      lambda: soak(server, movies, users, args.soak)):  # fmt: skip
            figures = phase()
            acknowledged += figures.pop("acknowledged", 0)
            results |= figures
        info = httpx.get(server.url + "/v1/model").json()["feedback"]
        results["acknowledged_ratings"] = acknowledged
        results["stored_ratings"] = info["stored_ratings"]
        results["rss_mib"] = round(server.rss_mib(), 1)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    width = max(map(len, results))
    for name, value in results.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
