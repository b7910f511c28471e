"""Child processes whose time, CPU and peak RSS are read from their own rusage (`os.wait4`)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


STOP_TIMEOUT_S = 30.0


@dataclass
class ChildResult:
    returncode: int
    seconds: float  # from just before the process was started until it was reaped
    peak_rss_mb: float | None
    cpu_s: float | None = None  # user + system


class Child:
    """A subprocess whose own peak RSS is read from its rusage when this object reaps it.

    Never use `Popen.poll/wait` on it: `os.wait4` must be the one to reap the process.
    """

    def __init__(self, cmd: Sequence[str], env: dict[str, str], log_path: Path, stdout_path: Path | None = None):
        self.cmd = list(cmd)
        self.log_path = log_path
        self._result: ChildResult | None = None
        log.debug("starting %s", " ".join(self.cmd))
        with log_path.open("wb") as err, (stdout_path or log_path.with_suffix(".out")).open("wb") as out:
            self.started = time.perf_counter()
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=err, env=env, stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _reaped(self, status: int, rusage: Any) -> ChildResult:
        code = os.waitstatus_to_exitcode(status)
        self.proc.returncode = code  # so that Popen does not try to reap it again
        cpu = round(rusage.ru_utime + rusage.ru_stime, 2)
        self._result = ChildResult(code, time.perf_counter() - self.started, round(rusage.ru_maxrss / 1024, 1), cpu)
        return self._result

    def poll(self) -> ChildResult | None:
        if self._result is None:
            pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                return self._reaped(status, rusage)
        return self._result

    def wait(self, timeout: float) -> ChildResult:
        if self._result is not None:
            return self._result
        timer = threading.Timer(timeout, self._kill)
        timer.start()
        try:
            _, status, rusage = os.wait4(self.pid, 0)
        finally:
            timer.cancel()
        return self._reaped(status, rusage)

    def _kill(self) -> None:
        log.warning("%s: still running after its time limit; killed", self.cmd[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> ChildResult:
        """SIGTERM (the server closes cleanly), SIGKILL after `timeout`."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
        return self.wait(timeout)

    def peak_rss_now_mb(self) -> float | None:
        """VmHWM of the running process (its peak RSS so far)."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        return None

    def cpu_seconds_now(self) -> float | None:
        """User + system CPU time of the running process so far (/proc/PID/stat)."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
        return None

    def log_tail(self, lines: int = 8) -> str:
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace").strip().splitlines()
            return "\n".join(text[-lines:])
        return ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def handbook_command(python: str = sys.executable) -> list[str]:
    """The `handbook` console script of this environment (beside its Python), else one on PATH."""
    beside = Path(python).with_name("handbook")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("handbook")
    if found:
        return [found]
    return [python, "-c", "from assistant.cli import app; app()"]
