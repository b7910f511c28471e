"""The BM25 tokens and the bm25s import."""

from __future__ import annotations

import logging

import pytest

from ingest.lexical import bm25s_module, lexical_tokens


@pytest.mark.unit
def test_bm25s_is_kept_quiet_after_its_import_sets_debug() -> None:
    logging.getLogger("bm25s").setLevel(logging.DEBUG)  # what `import bm25s` does
    bm25s_module()
    assert logging.getLogger("bm25s").level == logging.WARNING


@pytest.mark.unit
def test_tokens_keep_negations_and_drop_possessives() -> None:
    tokens = lexical_tokens("The prisoner's letters are not opened")
    assert "not" in tokens and "the" not in tokens
    assert not any("'" in t for t in tokens)
