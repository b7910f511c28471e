"""Fixtures for tests against a real local language model: a tiny random-weight GGUF and a llama.cpp server.

The `llm` tests need llama-cpp-python with its server extra (`pip install -e '.[llm]'`). Without it they
are skipped, unless HANDBOOK_REQUIRE_LLM_TESTS=1 (CI sets it), where a missing install is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from llm_server import LlamaServer, llama_cpp_available, write_tiny_gguf

LLM_MISSING = "llama-cpp-python not installed (pip install -e '.[llm]')"


def _llm_tests_required() -> bool:
    return os.environ.get("HANDBOOK_REQUIRE_LLM_TESTS", "").strip().lower() in {"1", "true", "yes"}


def _require_llama_cpp(server: bool) -> None:
    if llama_cpp_available(server=server):
        return
    if _llm_tests_required():
        pytest.fail(f"{LLM_MISSING}; HANDBOOK_REQUIRE_LLM_TESTS=1 requires it", pytrace=False)
    pytest.skip(LLM_MISSING)


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight LLaMA GGUF (under 1 MB) written once per session."""
    return write_tiny_gguf(tmp_path_factory.mktemp("tiny-llm") / "tiny.gguf")


@pytest.fixture(scope="session")
def llama_cpp_module() -> ModuleType:
    """The imported `llama_cpp` package, for in-process use (skips or fails as above when missing)."""
    _require_llama_cpp(server=False)
    import llama_cpp

    return llama_cpp


@pytest.fixture(scope="session")
def llama_server(tiny_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """llama-cpp-python's OpenAI-compatible server on the tiny model (`.base_url`, `.model` == "tiny")."""
    _require_llama_cpp(server=True)
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    with LlamaServer(tiny_gguf, log_path=log_path) as server:
        yield server
