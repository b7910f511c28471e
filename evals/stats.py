"""The one percentile definition of every evals report (eval, beir, bench, load, scale).

Linear interpolation between the closest ranks: numpy's default method ("linear", Hyndman and
Fan's type 7). With the values sorted, the q-th percentile sits at position (n - 1) * q / 100,
and a position between two ranks takes the straight line between their values. Every p50/p95
already published in docs/ was computed this way, and it equals `numpy.percentile`; nearest rank
(the load test's former definition) jumps from one sample to the next. The reasons are in
evals/README.md ("Percentiles").
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (q in 0..100) of `values`, linearly interpolated between closest ranks.

    Raises ValueError for no values or q outside 0..100: each report decides what an empty
    series shows (None, 0 or NaN), so that no caller silently reads a made-up figure.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0..100")
    ordered = sorted(float(v) for v in values)
    if not ordered:
        raise ValueError("percentile of no values")
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
