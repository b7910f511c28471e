"""The machine a benchmark ran on, found without importing the libraries."""

from __future__ import annotations

import py_compile
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from evals.bench.machine import bytecode_state, describe_machine


@pytest.mark.unit
def test_machine_description() -> None:
    machine = describe_machine("onnx", "cpu")
    assert machine.logical_cores >= 1
    assert 1 <= machine.usable_cores <= machine.logical_cores
    assert machine.python.count(".") == 2
    assert machine.backend == "onnx on cpu"
    text = machine.describe()
    assert f"Python {machine.python}" in text
    assert "embedding backend onnx on cpu" in text
    assert f"library bytecode {machine.bytecode}" in text


@pytest.mark.unit
def test_bytecode_state_tells_precompiled_from_compiled_at_every_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "bench_probe_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "flags", SimpleNamespace(dont_write_bytecode=True, optimize=0))
    assert bytecode_state("bench_probe_pkg").startswith("not compiled, compiled again at every start")
    monkeypatch.setattr(sys, "flags", SimpleNamespace(dont_write_bytecode=False, optimize=0))
    assert bytecode_state("bench_probe_pkg") == "not compiled yet (the first start writes it)"
    py_compile.compile(str(package / "__init__.py"), doraise=True)
    assert bytecode_state("bench_probe_pkg") == "precompiled"
    monkeypatch.undo()
    assert bytecode_state("no_such_package_for_the_bench") == "unknown"
