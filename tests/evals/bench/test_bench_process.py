"""Child processes: exit code, time, CPU and their own peak RSS."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from evals.bench.process import Child


@pytest.mark.unit
def test_child_reports_exit_code_time_and_its_own_peak_rss(tmp_path: Path) -> None:
    grow = "x = bytearray(80 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])"
    child = Child([sys.executable, "-c", grow], {}, tmp_path / "grow.log")
    result = child.wait(60)
    assert result.returncode == 0
    assert result.seconds > 0
    assert result.peak_rss_mb is not None and result.peak_rss_mb >= 80
    assert result.cpu_s is not None and result.cpu_s >= 0
    assert child.poll() is result  # reaped once; later calls give the same result

    failing = Child([sys.executable, "-c", "import sys; sys.exit(3)"], {}, tmp_path / "fail.log")
    assert failing.wait(60).returncode == 3


@pytest.mark.unit
def test_child_stop_terminates_a_running_process(tmp_path: Path) -> None:
    child = Child([sys.executable, "-c", "import time; time.sleep(60)"], {}, tmp_path / "sleep.log")
    assert child.poll() is None
    assert child.peak_rss_now_mb() is not None
    cpu = child.cpu_seconds_now()
    assert cpu is not None and cpu >= 0
    result = child.stop(timeout=10)
    assert result.returncode != 0
    assert result.seconds < 30
