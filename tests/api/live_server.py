"""A real server process on a free 127.0.0.1 port for the tests that need one, and a raw HTTP
client that can send what no well-behaved client would (partial heads, endless bodies)."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
RECSYS_SERVE = ["-m", "recsys.cli", "serve"]  # what the README and the Docker image run
UVICORN = ["-m", "uvicorn", "server:app"]  # the ASGI app under uvicorn's defaults
MIB = 2**20
HEAD = b"POST /predictions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
CHUNKED = HEAD + b"Transfer-Encoding: chunked\r\n\r\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``python -m recsys.cli serve`` (or another command) with its output in a log file."""

    def __init__(self, env: dict, log: Path, command: list[str] = RECSYS_SERVE):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, *command, "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60.0) -> LiveServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server exited with {self.process.returncode}: {self.log()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"server did not become ready: {self.log()}")

    def rss(self) -> int:
        """Resident memory of the server process, in bytes."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()


class Raw:
    """One TCP connection, spoken to byte by byte."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()

    def send(self, data: bytes) -> bool:
        """Send; False once the server has closed its side or reset the connection."""
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def answered(self) -> bool:
        return bool(select.select([self.sock], [], [], 0)[0])

    def response(self, timeout: float = 10.0) -> bytes:
        """Everything the server sends until it closes or stays silent for ``timeout``."""
        self.sock.settimeout(timeout)
        data = b""
        try:
            while chunk := self.sock.recv(65536):
                data += chunk
                if _complete(data):
                    break
        except TimeoutError:
            pass
        except OSError:  # reset after the answer
            pass
        return data

    def closed_by_server(self, timeout: float) -> bool:
        """Whether the server closes the connection within ``timeout`` s (having sent nothing
        or an answer)."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
        except TimeoutError:
            return False
        except OSError:
            return True
        return True


def _complete(data: bytes) -> bool:
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        return False
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return length is not None and len(body) >= int(length.group(1))


def status_of(response: bytes) -> int:
    """The status code of a raw response (0 for none)."""
    match = re.match(rb"HTTP/1\.[01] (\d{3})", response)
    return int(match.group(1)) if match else 0


def body_of(response: bytes) -> bytes:
    return response.partition(b"\r\n\r\n")[2]


def header(response: bytes, name: str) -> str | None:
    head = response.partition(b"\r\n\r\n")[0].decode("latin-1")
    match = re.search(rf"(?im)^{re.escape(name)}:\s*(.*?)\s*$", head)
    return match.group(1) if match else None


def chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


def stream_chunked(port: int, total: int, piece: int = 64 * 1024) -> tuple[bytes, int]:
    """Send a chunked body of ``total`` bytes until the server answers; (answer, bytes sent)."""
    with Raw(port) as raw:
        raw.send(CHUNKED)
        block, sent = chunk(b"[" * piece), 0
        while sent < total and not raw.answered() and raw.send(block):
            sent += piece
        return raw.response(), sent
