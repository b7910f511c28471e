"""The learned answer decision that reads a local model's judgement (assistant/llm/judge.py), written by
`handbook eval calibrate --judge <model> --write`; empty until then.
"""

from __future__ import annotations

JUDGE: dict[str, object] = {}
DECISION_MODEL: dict[str, object] = {}
