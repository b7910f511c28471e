"""A Chroma server for the scale runs: one given by host and port, or `chroma run` started for the duration."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

STARTUP_TIMEOUT_S = 60
LOCAL_PORT = 8765  # the server started here: a fixed port where free, so that indexes of earlier runs stay valid


@dataclass
class ChromaServer:
    host: str
    port: int
    process: subprocess.Popen[bytes] | None = None  # None: a server we did not start

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a server that just stopped leaves TIME_WAIT
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def heartbeat(host: str, port: int) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    try:
        with opener.open(f"http://{host}:{port}/api/v2/heartbeat", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def chroma_server(data_dir: Path, host: str | None = None, port: int | None = None) -> Iterator[ChromaServer]:
    """Uses the server at host:port when given, else starts `chroma run` on a free port for the duration."""
    if host:
        if not heartbeat(host, port or 8000):
            raise RuntimeError(f"no Chroma server answers at http://{host}:{port or 8000}/api/v2/heartbeat")
        yield ChromaServer(host, port or 8000)
        return
    binary = Path(sys.executable).parent / "chroma"
    if not binary.exists():
        found = shutil.which("chroma")
        if found is None:
            raise RuntimeError(f"chroma server binary not found at {binary} nor on PATH")
        binary = Path(found)
    host = "127.0.0.1"
    port = port or (LOCAL_PORT if _port_free(LOCAL_PORT) else free_port())
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / "chroma-server.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [str(binary), "run", "--host", host, "--port", str(port), "--path", str(data_dir)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=no_proxy_env(),
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while not heartbeat(host, port):
                if process.poll() is not None:
                    raise RuntimeError(f"chroma server exited with {process.returncode}; see {log_path}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"chroma server not answering after {STARTUP_TIMEOUT_S} s; see {log_path}")
                time.sleep(0.2)
            yield ChromaServer(host, port, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)


def no_proxy_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(name, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env
