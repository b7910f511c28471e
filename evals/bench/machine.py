"""The machine a benchmark ran on: CPU, cores, memory, versions, found without importing the libraries."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Machine:
    cpu: str
    logical_cores: int
    usable_cores: int
    ram_gib: float | None
    os: str
    python: str
    torch: str
    backend: str  # the embedding backend and device of this run
    load_average: tuple[float, float, float] | None  # at the start of the run: a busy machine shows here
    bytecode: str = "unknown"  # whether the libraries' .pyc files exist: without them every start compiles

    def describe(self) -> str:
        ram = f"{self.ram_gib:.1f} GiB RAM" if self.ram_gib is not None else "RAM unknown"
        cores = f"{self.logical_cores} logical cores ({self.usable_cores} usable)"
        text = (
            f"{self.cpu}, {cores}, {ram}; {self.os}; Python {self.python}, torch {self.torch}; "
            f"embedding backend {self.backend}"
        )
        if self.load_average is not None:
            text += f"; load average {self.load_average[0]:.2f} at the start"
        return text + f"; library bytecode {self.bytecode}"


def describe_machine(backend: str = "torch", device: str = "cpu") -> Machine:
    """CPU model, cores, memory, OS, Python and torch versions; nothing is imported to find them."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram: float | None = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = round(int(line.split()[1]) / 1024**2, 1)
                break
    try:
        torch = version("torch")
    except PackageNotFoundError:
        torch = "not installed"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    load = None
    with contextlib.suppress(OSError, AttributeError):
        load = tuple(round(x, 2) for x in os.getloadavg())
    return Machine(
        cpu=cpu,
        logical_cores=os.cpu_count() or 1,
        usable_cores=usable,
        ram_gib=ram,
        os=platform.platform(terse=True),
        python=platform.python_version(),
        torch=torch,
        backend=f"{backend} on {device}",
        load_average=load,  # type: ignore[arg-type]
        bytecode=bytecode_state(),
    )


def bytecode_state(package: str = "gradio") -> str:
    """Whether `package` (the slowest import of a start) has compiled .pyc files, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        return "unknown"
    if Path(importlib.util.cache_from_source(spec.origin)).is_file():
        return "precompiled"
    if sys.flags.dont_write_bytecode:
        return "not compiled, compiled again at every start (PYTHONDONTWRITEBYTECODE is set)"
    return "not compiled yet (the first start writes it)"
