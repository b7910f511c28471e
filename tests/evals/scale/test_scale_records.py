"""The options of `handbook scale`: corpus sizes."""

from __future__ import annotations

import pytest

from evals.scale.records import parse_sizes


@pytest.mark.unit
def test_parse_sizes() -> None:
    assert parse_sizes("1000, 10k,100_000") == [1000, 10000, 100000]
    for bad in ("", "ten", "10"):
        with pytest.raises(ValueError):
            parse_sizes(bad)
